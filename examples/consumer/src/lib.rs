//! Fabrikam's own little Graph code: sign in as an app, find the chats where its Teams app is
//! behind, and upgrade it there, riding out throttling. It knows nothing of teamsapp; its tests
//! run it against `teamsapp_mock::Emulator` instead of a tenant.

use std::time::Duration;

use serde::Deserialize;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer, or an undecodable one.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// Graph refused: its status and `error.code`.
    #[error("graph answered {status} {code}: {message}")]
    Graph {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
    },
}

/// A signed-in app.
pub struct Upgrader {
    http: reqwest::Client,
    graph: String,
    token: String,
    /// How many times a throttled (429) or unavailable (503) request is retried.
    pub max_retries: u32,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct List<T> {
    value: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Installation {
    id: String,
    teams_app: App,
    teams_app_definition: Definition,
}

#[derive(Deserialize)]
struct App {
    id: String,
}

#[derive(Deserialize)]
struct Definition {
    version: String,
}

#[derive(Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    code: String,
    message: String,
}

impl Upgrader {
    /// Signs in with the client credentials flow at `token_url`
    /// (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` in production).
    pub async fn sign_in(
        graph: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::new();
        let response = http
            .post(token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await?;
        let token: Token = check(response).await?.json().await?;
        Ok(Self {
            http,
            graph: graph.trim_end_matches('/').to_owned(),
            token: token.access_token,
            max_retries: 3,
        })
    }

    /// The installation id of `app_id` in `chat_id` when it is installed at another version than
    /// `latest`.
    pub async fn outdated_in_chat(
        &self,
        chat_id: &str,
        app_id: &str,
        latest: &str,
    ) -> Result<Option<String>, Error> {
        let url = format!(
            "{}/chats/{chat_id}/installedApps?$expand=teamsApp,teamsAppDefinition",
            self.graph
        );
        let list: List<Installation> = self
            .send(|| self.http.get(&url))
            .await?
            .json()
            .await?;
        Ok(list
            .value
            .into_iter()
            .find(|i| i.teams_app.id == app_id && i.teams_app_definition.version != latest)
            .map(|i| i.id))
    }

    /// Upgrades an installation in a chat to the catalog's latest version.
    pub async fn upgrade_in_chat(&self, chat_id: &str, installation_id: &str) -> Result<(), Error> {
        let url = format!(
            "{}/chats/{chat_id}/installedApps/{installation_id}/upgrade",
            self.graph
        );
        self.send(|| self.http.post(&url).json(&serde_json::json!({})))
            .await?;
        Ok(())
    }

    /// Sends with the token, retrying 429 and 503 after their `Retry-After`.
    async fn send(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let mut attempt = 0;
        loop {
            let response = request().bearer_auth(&self.token).send().await?;
            let status = response.status().as_u16();
            if matches!(status, 429 | 503) && attempt < self.max_retries {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                attempt += 1;
                continue;
            }
            return check(response).await;
        }
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await?;
    let (code, message) = match serde_json::from_str::<GraphError>(&body) {
        Ok(e) => (e.error.code, e.error.message),
        Err(_) => (String::new(), body),
    };
    Err(Error::Graph {
        status: status.as_u16(),
        code,
        message,
    })
}
