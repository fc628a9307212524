//! RFC 8628 from both ends: the device starting and polling, the user answering on `/device`.

use serde_json::Value;
use tollgate_core::model::GrantType;

use super::{Browser, TestApp, TestClient, Visit, hidden};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl TestApp {
    /// A confidential device-code app (with refresh) with the scope `read`.
    pub async fn device_client(&self) -> TestClient {
        self.client_with(|s| {
            s.grant_types = vec![GrantType::DeviceCode, GrantType::RefreshToken];
            s.scopes = vec!["read".into()];
        })
        .await
    }

    /// A device authorization request for `scope`, which must succeed.
    pub async fn start_device(&self, c: &TestClient, scope: &str) -> Value {
        let resp = self
            .post_form(
                "/oauth/device_authorization",
                &[
                    ("client_id", c.id.as_str()),
                    ("client_secret", &c.secret),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }

    /// `poll_device` for the device code of `started`, a device authorization answer.
    pub async fn poll_started(&self, c: &TestClient, started: &Value) -> (u16, Value) {
        let device_code = started["device_code"].as_str().expect("dc");
        self.poll_device(c, device_code).await
    }

    /// One poll of `/oauth/token` for `device_code`: the status and the body.
    pub async fn poll_device(&self, c: &TestClient, device_code: &str) -> (u16, Value) {
        let resp = self
            .post_form(
                "/oauth/token",
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("device_code", device_code),
                    ("client_id", c.id.as_str()),
                    ("client_secret", &c.secret),
                ],
            )
            .await;
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json"))
    }
}

impl Browser {
    /// `answer_device` for the user code of `started`, a device authorization answer.
    pub async fn answer_started(&self, started: &Value, email: &str, decision: &str) -> String {
        let user_code = started["user_code"].as_str().expect("uc");
        self.answer_device(user_code, email, decision).await
    }

    /// Signs in (when asked) and answers the confirmation page for `user_code`.
    pub async fn answer_device(&self, user_code: &str, email: &str, decision: &str) -> String {
        let visit = self
            .visit_as(&format!("/device?user_code={user_code}"), email)
            .await;
        let Visit::Page { html, status, .. } = visit else {
            panic!("device page expected")
        };
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"approve\""), "confirmation page: {html}");
        let csrf = hidden(&html, "csrf").expect("csrf");
        let code = hidden(&html, "user_code").expect("code");
        let confirm = hidden(&html, "confirm").expect("confirm");
        let resp = self
            .post(
                "/device/decision",
                &[
                    ("csrf", &csrf),
                    ("user_code", &code),
                    ("confirm", &confirm),
                    ("decision", decision),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("html")
    }
}
