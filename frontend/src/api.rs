//! The HTTP API of kept runs, as the dashboard calls it: a page of runs, renaming, noting or
//! starring one, deleting one, and importing a run file. The page comes in gilscope's wire
//! format, which the dashboard already decodes for the websocket; the little JSON the other
//! routes take and give goes through the browser's own `JSON`, so no JSON code is compiled
//! into the page. Errors are the server's own sentence (`{"error": ...}`), or what went
//! wrong on the way. Also a served file's text (a language's messages, [`crate::lang`]).

use gilscope_shared::history::{Listed, RunEdit};
use gilscope_shared::protocol::{self, RunId};
use js_sys::{Object, Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// How many runs the history asks for at once.
pub const PAGE: usize = 50;

/// The newest [`PAGE`] runs of `lesson` (of every lesson when `None`), newest first.
pub async fn list(lesson: Option<&str>) -> Result<Vec<Listed>, String> {
    let mut url = format!("/api/runs?format=wire&limit={PAGE}");
    if let Some(lesson) = lesson {
        url.push_str("&lesson=");
        url.push_str(&String::from(js_sys::encode_uri_component(lesson)));
    }
    let response = call("GET", &url, None).await?;
    let bytes = JsFuture::from(response.array_buffer().map_err(describe)?)
        .await
        .map_err(describe)?;
    let mut runs =
        protocol::decode_listed(&Uint8Array::new(&bytes).to_vec()).map_err(|e| e.to_string())?;
    // The server lists a page oldest first.
    runs.reverse();
    Ok(runs)
}

/// Why runs are not being kept, as `GET /api/store` says it.
#[derive(Debug, Clone, PartialEq)]
pub enum NotKept {
    /// The store's last error (a full disk, a read-only directory), in the server's words.
    Failing(String),
    /// The server keeps no runs (`--no-store`).
    NoStore,
}

/// Why runs are not being kept; `None` when all is well.
pub async fn store_problem() -> Result<Option<NotKept>, String> {
    let status = json_of(&call("GET", "/api/store", None).await?).await?;
    let field = |name: &str| Reflect::get(&status, &name.into()).unwrap_or(JsValue::NULL);
    if let Some(error) = field("error").as_string() {
        return Ok(Some(NotKept::Failing(error)));
    }
    Ok((field("enabled").as_bool() != Some(true)).then_some(NotKept::NoStore))
}

/// `PATCH /api/runs/{id}`: a field left `None` stays as it is.
pub async fn edit(id: RunId, edit: &RunEdit) -> Result<(), String> {
    let body = Object::new();
    let set = |key: &str, value: JsValue| Reflect::set(&body, &key.into(), &value).map(drop);
    if let Some(name) = &edit.name {
        set("name", name.into()).map_err(describe)?;
    }
    if let Some(note) = &edit.note {
        set("note", note.into()).map_err(describe)?;
    }
    if let Some(starred) = edit.starred {
        set("starred", starred.into()).map_err(describe)?;
    }
    let json = JSON::stringify(&body).map_err(describe)?;
    call("PATCH", &format!("/api/runs/{id}"), Some(json.into())).await?;
    Ok(())
}

/// Deletes a run that is over.
pub async fn delete(id: RunId) -> Result<(), String> {
    call("DELETE", &format!("/api/runs/{id}"), None).await?;
    Ok(())
}

/// Keeps a run file (a `File` dropped on the page) and answers the new run's id.
pub async fn import(file: web_sys::Blob) -> Result<RunId, String> {
    let response = call("POST", "/api/runs/import", Some(file.into())).await?;
    let entry = json_of(&response).await?;
    Reflect::get(&entry, &"id".into())
        .ok()
        .and_then(|id| id.as_f64())
        .map(|id| id as RunId)
        .ok_or_else(|| "the server's answer has no run id".to_string())
}

/// `GET url`'s body, as text.
pub async fn text(url: &str) -> Result<String, String> {
    let response = call("GET", url, None).await?;
    let text = JsFuture::from(response.text().map_err(describe)?)
        .await
        .map_err(describe)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// One request; the response when its status is 2xx, else the server's error sentence.
async fn call(method: &str, url: &str, body: Option<JsValue>) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = &body {
        init.set_body(body);
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(describe)?;
    let headers = request.headers();
    if body.as_ref().is_some_and(JsValue::is_string) {
        headers
            .set("content-type", "application/json")
            .map_err(describe)?;
    } else if body.is_some() {
        headers
            .set("content-type", "application/octet-stream")
            .map_err(describe)?;
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(describe)?
        .unchecked_into();
    if response.ok() {
        return Ok(response);
    }
    let status = format!("{} {}", response.status(), response.status_text());
    let said = json_of(&response)
        .await
        .ok()
        .and_then(|body| Reflect::get(&body, &"error".into()).ok())
        .and_then(|e| e.as_string());
    Err(said.unwrap_or(status))
}

/// The response's body, parsed by the browser.
async fn json_of(response: &Response) -> Result<JsValue, String> {
    let text = JsFuture::from(response.text().map_err(describe)?)
        .await
        .map_err(describe)?;
    JSON::parse(&text.as_string().unwrap_or_default()).map_err(describe)
}

fn describe(err: JsValue) -> String {
    err.as_string()
        .or_else(|| Reflect::get(&err, &"message".into()).ok()?.as_string())
        .unwrap_or_else(|| "the request failed".into())
}
