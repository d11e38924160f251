//! The webhook sender: posts due deliveries to agencies' URLs, signed, and
//! records each attempt so the core can retry with backoff or give up. Runs
//! beside the server; a slow or failing hook never holds up anything else.

use std::time::Duration;

use taskforce_core::events::webhook::sign;
use taskforce_core::service::App;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A client for deliveries: no redirects (a hook must answer where it is),
/// and a timeout. One that cannot be built is an error for the start to
/// report, never a default client without those limits.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(TIMEOUT).build()
}

/// Sends every delivery due now; returns how many were attempted.
pub async fn run_once(app: &App, client: &reqwest::Client) -> Result<usize, taskforce_core::Error> {
    let due = app.due_deliveries(100).await?;
    let n = due.len();
    for (d, secret) in due {
        let ts = taskforce_core::clock::Clock::now(app.clock.as_ref()).as_second();
        let sent = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("x-taskforce-delivery", d.id.to_string())
            .header("x-taskforce-timestamp", ts.to_string())
            .header("x-taskforce-signature", sign(&secret, ts, d.payload.as_bytes()))
            .body(d.payload.clone())
            .send()
            .await;
        let error = match sent {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
            // The error's text may name the URL, which the agency gave; nothing else.
            Err(e) => Some(if e.is_timeout() { "timed out".to_string() } else { "unreachable".to_string() }),
        };
        app.delivery_result(&d, error.as_deref()).await?;
    }
    Ok(n)
}

/// Runs the sender every two seconds until the process ends; fails at once
/// when its client cannot be built.
pub fn spawn(app: App) -> Result<tokio::task::JoinHandle<()>, reqwest::Error> {
    let client = client()?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&app, &client).await {
                tracing::warn!(error = %e, "webhook deliveries failed; will retry");
            }
        }
    }))
}
