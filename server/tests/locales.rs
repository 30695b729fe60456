//! The dashboard's English catalogue (`frontend/locales/en.json`) says what the server's lesson
//! catalogue says: each lesson's claim and description, each knob's help and each comment of
//! the lesson's Python, word for word. The server's words (the CLI's, `GET /api/presets`) and
//! the dashboard's English are then one text; `zh.json` has the same keys (the frontend's
//! tests). The texts the server serves for the dashboard (`/lang/<code>.txt`) are the
//! frontend's messages, key for key.

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gilscope_frontend::lang::{keys, text, Key, Locale};
use gilscope_server::{app, AppState};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

fn presets() -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_gilscope"))
        .args(["presets", "--json"])
        .output()
        .expect("gilscope runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    match json {
        Value::Array(list) => list,
        other => other["presets"]
            .as_array()
            .cloned()
            .expect("a list of presets"),
    }
}

fn english() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/locales/en.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("en.json")).expect("JSON")
}

/// The `# comments` of a Python template, `{{knob}}` written `{knob}` as the catalogue does.
fn comments(template: &str) -> Vec<String> {
    template
        .lines()
        .filter_map(|l| l.find("# ").map(|at| l[at + 2..].to_string()))
        .map(|c| c.replace("{{", "{").replace("}}", "}"))
        .collect()
}

#[test]
fn the_english_catalogue_is_the_servers_lesson_text() {
    let en = english();
    let list = presets();
    assert_eq!(
        en["lesson"].as_object().map(|m| m.len()),
        Some(list.len()),
        "one entry per lesson"
    );
    for p in &list {
        let name = p["name"].as_str().expect("a name");
        let id = name.replace('-', "_");
        let lesson = &en["lesson"][&id];
        assert_eq!(lesson["claim"], p["claim"], "{name}: claim");
        assert_eq!(
            lesson["description"], p["description"],
            "{name}: description"
        );
        for knob in p["knobs"].as_array().expect("knobs") {
            let k = knob["name"].as_str().expect("a knob name");
            assert_eq!(en["knob"][&id][k], knob["description"], "{name}: knob {k}");
        }
        let template = p["python_template"].as_str().unwrap_or_default();
        let want = comments(template);
        let have: Vec<String> = (1..=want.len())
            .map(|k| {
                en["comment"][&id][format!("c{k}")]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(have, want, "{name}: comments of its Python");
        let extra = en["comment"][&id].as_object().map_or(0, |m| m.len());
        assert_eq!(extra, want.len(), "{name}: comments the template lacks");
    }
}

async fn served(path: &str) -> String {
    let state = AppState::new("127.0.0.1:7878".parse().unwrap(), CancellationToken::new());
    let request = Request::get(path)
        .header("host", "127.0.0.1:7878")
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).expect("UTF-8")
}

/// The server's `lang/<code>.txt` and the frontend's keys come from two build scripts: the
/// same order, the same texts.
#[tokio::test]
async fn the_served_texts_are_the_frontends_messages_in_its_order() {
    for (locale, path) in [(Locale::en, "/lang/en.txt"), (Locale::zh, "/lang/zh.txt")] {
        let served = served(path).await;
        let lines: Vec<&str> = served.split('\n').collect();
        assert_eq!(lines.len(), keys::COUNT, "{path}: one text per key");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(*line, text(locale, Key(i)), "{path}: line {}", i + 1);
        }
    }
    assert_eq!(text(Locale::en, keys::ui::run), english()["ui"]["run"]);
    assert_eq!(
        text(Locale::en, keys::lesson::join::claim),
        english()["lesson"]["join"]["claim"]
    );
}
