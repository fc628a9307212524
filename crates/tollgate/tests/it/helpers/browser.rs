//! A cookie-keeping HTTP client that walks the login and consent pages the way a browser
//! submits their forms (headless Chromium is driven through `chromium.rs`).

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use super::{PASSWORD, TestApp};

pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

/// The value of a hidden input.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

/// Undoes HTML character references (`&amp;`, `&#x2f;`, `&#39;`, …).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A page answered with `status` that shows `needle`: its HTML.
pub async fn page_with(resp: reqwest::Response, status: u16, needle: &str) -> String {
    assert_eq!(resp.status(), status);
    let html = resp.text().await.expect("html");
    assert!(html.contains(needle), "{needle} expected: {html}");
    html
}

/// An HTML answer's `Content-Security-Policy`.
pub fn html_csp(resp: &reqwest::Response) -> String {
    let headers = resp.headers();
    let content_type = headers[reqwest::header::CONTENT_TYPE].to_str();
    assert!(content_type.is_ok_and(|c| c.starts_with("text/html")));
    let csp = headers["content-security-policy"].to_str().expect("csp");
    csp.to_owned()
}

/// A redirect's `Location`.
pub fn location(resp: &reqwest::Response) -> &str {
    resp.headers()[LOCATION].to_str().expect("location")
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self::for_base(&app.base)
    }

    /// A browser for a server at `base` (one started as a separate process).
    pub fn for_base(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                // What a browser asks for: the authorize endpoints answer it with pages.
                .default_headers(reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::ACCEPT,
                    reqwest::header::HeaderValue::from_static(
                        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    ),
                )]))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.absolute(url)).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.absolute(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Follows redirects on this server; stops at a page (returned with its URL) or at a
    /// redirect that leaves the server (returned as the Location).
    pub async fn visit(&self, url: &str) -> Visit {
        let mut url = self.absolute(url);
        for _ in 0..10 {
            let resp = self.get(&url).await;
            if resp.status().is_redirection() {
                let next = self.absolute(resp.headers()[LOCATION].to_str().expect("location"));
                if !next.starts_with(&self.base) {
                    return Visit::Left(next);
                }
                url = next;
                continue;
            }
            let status = resp.status();
            return Visit::Page {
                url,
                status,
                html: resp.text().await.expect("html"),
            };
        }
        panic!("redirect loop at {url}");
    }

    /// Submits the login form shown at `url`.
    pub async fn login(
        &self,
        login_page_url: &str,
        html: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        assert!(
            login_page_url.contains("/login"),
            "expected the login page, got {login_page_url}"
        );
        let csrf = hidden(html, "csrf").expect("csrf field");
        let cont = hidden(html, "continue").expect("continue field");
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("continue", &cont),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Submits the login form that `url` leads to, as `email`; the sign-in must succeed.
    pub async fn sign_in(&self, url: &str, email: &str) -> reqwest::Response {
        let Visit::Page { url, html, .. } = self.visit(url).await else {
            panic!("the login page expected at {url}")
        };
        let resp = self.login(&url, &html, email, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login succeeds");
        resp
    }

    /// `sign_in`, then follows where the server sends the browser.
    pub async fn sign_in_at(&self, url: &str, email: &str) -> Visit {
        let resp = self.sign_in(url, email).await;
        self.visit(location(&resp)).await
    }

    /// Visits `url`, signing in as `email` if it leads to the login page.
    pub async fn visit_as(&self, url: &str, email: &str) -> Visit {
        match self.visit(url).await {
            Visit::Page { url, html, .. } if url.contains("/login") => {
                let resp = self.login(&url, &html, email, PASSWORD).await;
                assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login succeeds");
                self.visit(location(&resp)).await
            }
            other => other,
        }
    }

    /// Signs in (if asked), approves consent (if asked) and returns where the server sent the browser.
    pub async fn authorize(&self, authorize_url: &str, email: &str) -> String {
        let mut visit = self.visit(authorize_url).await;
        for _ in 0..3 {
            match visit {
                Visit::Left(location) => return location,
                Visit::Page { url, html, .. } if url.contains("/login") => {
                    let resp = self.login(&url, &html, email, PASSWORD).await;
                    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login succeeds");
                    visit = self.visit(location(&resp)).await;
                }
                Visit::Page { html, .. } if html.contains("id=\"approve\"") => {
                    let resp = self.decide(&html, "approve").await;
                    return location(&resp).to_owned();
                }
                Visit::Page { url, status, html } => {
                    panic!("unexpected page {url} ({status}): {html}")
                }
            }
        }
        panic!("authorization did not finish");
    }

    /// Posts `fields` with the CSRF token of the account page, where this browser is signed
    /// in (or signs in as `signing_in_as` first).
    pub async fn post_from_account(
        &self,
        signing_in_as: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let visit = match signing_in_as {
            Some(email) => self.visit_as("/account", email).await,
            None => self.visit("/account").await,
        };
        let Visit::Page { html, .. } = visit else {
            panic!("account page")
        };
        let csrf = hidden(&html, "csrf").expect("csrf");
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    pub async fn decide(&self, consent_html: &str, decision: &str) -> reqwest::Response {
        let csrf = hidden(consent_html, "csrf").expect("csrf");
        let cont = hidden(consent_html, "continue").expect("continue");
        let resp = self
            .post(
                "/consent",
                &[("csrf", &csrf), ("continue", &cont), ("decision", decision)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        resp
    }
}

#[derive(Debug)]
pub enum Visit {
    Page {
        url: String,
        status: StatusCode,
        html: String,
    },
    Left(String),
}
