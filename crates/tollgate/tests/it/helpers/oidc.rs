//! A relying party built with the `openidconnect` crate: discovery, the authorization URL
//! with PKCE, and the code exchange.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};

use super::{REDIRECT, TestApp, TestClient};

/// A relying party configured from discovery, redirecting to `REDIRECT`.
pub type Oidc = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The relying party of `client`, from the server's discovery document.
pub async fn relying_party(app: &TestApp, client: &TestClient) -> Oidc {
    let issuer = IssuerUrl::new(app.base.clone()).expect("iss");
    let metadata = CoreProviderMetadata::discover_async(issuer, &oidc_http())
        .await
        .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.to_string()),
        Some(ClientSecret::new(client.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).expect("redirect"))
}

/// The relying party's HTTP client: redirects are the browser's business.
pub fn oidc_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A code-flow authorization URL with PKCE and `scopes` (beside `openid`): the URL, its
/// `state`, its nonce and the PKCE verifier.
pub fn code_url(rp: &Oidc, scopes: &[&str]) -> (String, CsrfToken, Nonce, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        req = req.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    (url.to_string(), state, nonce, verifier)
}

/// Redeems `code` with its PKCE verifier.
pub async fn exchange(rp: &Oidc, code: String, verifier: PkceCodeVerifier) -> CoreTokenResponse {
    rp.exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&oidc_http())
        .await
        .expect("code exchange")
}
