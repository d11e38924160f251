//! The live part of a page as Server-Sent Events: rebuilt for its viewer
//! after any successful write in this process (and every few seconds, for
//! other instances' writes), sent only when it changed, with a fingerprint
//! as its `id:` so a reconnect with `Last-Event-ID` gets what it missed.
//! Streams end after five minutes: the browser reconnects, and the session
//! is checked again.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// How long a stream lives before the browser reconnects.
const LIFETIME: Duration = Duration::from_secs(300);

/// A short fingerprint of a rendered part.
pub(super) fn fingerprint(html: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    html.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// What the browser last got: the stream's own id on a reconnect, else the
/// fingerprint the page was built with (`?since=`).
pub(super) fn last_seen(headers: &HeaderMap, since: Option<&str>) -> String {
    headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(since).map(str::to_string).unwrap_or_default()
}

/// The stream of `event` parts built by `render` (`None` ends it).
pub(super) fn stream<F, Fut>(st: &AppState, event: &'static str, last: String, poll: Duration, render: F) -> Response
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<String>> + Send,
{
    let mut changes = st.changes.subscribe();
    changes.borrow_and_update();
    let until = tokio::time::Instant::now() + LIFETIME;
    let render = std::sync::Arc::new(render);
    let s = futures_util::stream::unfold((last, true, changes), move |(last, first, mut changes)| {
        let render = render.clone();
        async move {
            let mut first = first;
            loop {
                if !first {
                    // Woken by a write here, or after `poll` for writes elsewhere; ends with its lifetime.
                    let wait = tokio::time::timeout(poll, changes.changed());
                    match tokio::time::timeout_at(until, wait).await {
                        Err(_) | Ok(Ok(Err(_))) => return None,
                        Ok(_) => {}
                    }
                }
                first = false;
                changes.borrow_and_update();
                let html = render().await?;
                let id = fingerprint(&html);
                if id != last {
                    let ev = Event::default().event(event).id(id.clone()).data(html);
                    return Some((Ok::<_, std::convert::Infallible>(ev), (id, false, changes)));
                }
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::default()).into_response()
}
