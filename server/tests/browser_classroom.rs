//! Classroom mode in real browsers (issue #12): a teacher's page (opened with the teacher's
//! URL) and a student's page (another browser, no token). The teacher chooses a lesson,
//! runs it and zooms; the student's page shows the same lesson, the same run and the same
//! time window, has no Run button, leaves to explore (a zoom of its own) and follows again
//! with F.

mod chromium;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chromium::{eval, screenshot, text, wait_for_text, wait_until, Chromium, Error, CHANGE, LOAD};
use chromiumoxide::Page;
use gilscope_server::classroom::{Classroom, Token};
use gilscope_server::Limits;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "browser-classroom-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_follows_the_teachers_lesson_run_and_window_and_may_explore() {
    if std::env::var_os("GILSCOPE_WORKER_EXE").is_none() {
        std::env::set_var("GILSCOPE_WORKER_EXE", env!("CARGO_BIN_EXE_gilscope"));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let class = Classroom {
        token: Token::parse(TOKEN).unwrap(),
        students: vec![format!("http://{addr}/")],
    };
    let server = tokio::spawn(gilscope_server::serve_app(
        listener,
        shutdown.clone(),
        Limits::default(),
        Some(class),
        None,
    ));
    let teacher = Chromium::launch(1280, 800).await;
    let student = Chromium::launch(1280, 800).await;
    let outcome = scenario(&teacher, &student, addr).await;
    teacher.close().await;
    student.close().await;
    shutdown.cancel();
    let _ = tokio::time::timeout(CHANGE, server).await;
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// The timeline's time window as drawn: "t0 t1" in ns.
async fn window(page: &Page) -> Result<String, Error> {
    eval(
        page,
        "document.querySelector('[data-testid=\"timeline-canvas\"]').dataset.window ?? ''",
    )
    .await
}

/// Waits until `page` draws a window other than `from`; answers it.
async fn moved_from(page: &Page, from: &str) -> Result<String, Error> {
    let deadline = Instant::now() + CHANGE;
    while Instant::now() < deadline {
        let now = window(page).await?;
        if now != from {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the window stayed {from:?}").into())
}

/// Waits until both pages draw the same window; answers it.
async fn same_window(teacher: &Page, student: &Page) -> Result<String, Error> {
    let deadline = Instant::now() + CHANGE;
    let (mut t, mut s) = (String::new(), String::new());
    while Instant::now() < deadline {
        (t, s) = (window(teacher).await?, window(student).await?);
        if !t.is_empty() && t == s {
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the windows differ: teacher {t:?}, student {s:?}").into())
}

async fn key(page: &Page, key: &str) -> Result<(), Error> {
    let _: bool = eval(
        page,
        &format!("window.dispatchEvent(new KeyboardEvent('keydown', {{key: '{key}'}}))"),
    )
    .await?;
    Ok(())
}

async fn visible(page: &Page, testid: &str) -> Result<bool, Error> {
    eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector('[data-testid=\"{testid}\"]'); \
             return !!e && e.getClientRects().length > 0; }})()"
        ),
    )
    .await
}

async fn scenario(teacher: &Chromium, student: &Chromium, addr: SocketAddr) -> Result<(), Error> {
    // The teacher's URL sets the cookie and lands on the page without the token.
    let t = chromium::open(&teacher.browser, &format!("http://{addr}/?token={TOKEN}")).await?;
    wait_for_text(&t, "conn-state", "connected", LOAD).await?;
    let url = t.url().await?.unwrap_or_default();
    if url.contains(TOKEN) {
        return Err(format!("the teacher's address bar still holds the token: {url}").into());
    }
    let s = chromium::open(&student.browser, &format!("http://{addr}/")).await?;
    wait_for_text(&s, "conn-state", "connected", LOAD).await?;
    wait_for_text(&s, "following", "following the teacher", CHANGE).await?;
    wait_for_text(&t, "viewers", "2 watching", CHANGE).await?;
    if !visible(&t, "run").await? || visible(&s, "run").await? {
        return Err("the teacher must have a Run button and the student none".into());
    }
    if visible(&s, "code-edit").await? {
        return Err("the student must not edit the code".into());
    }
    let html: String = eval(&s, "document.documentElement.outerHTML").await?;
    if html.contains(TOKEN) {
        return Err("the student's page holds the token".into());
    }

    // The teacher chooses a lesson and sets a knob: the student's page shows the same.
    chromium::click(&t, "lesson-cpu-threads").await?;
    chromium::type_into(&t, "knob-threads", "4").await?;
    let setup = wait_until(&t, "setup-line", "cpu-threads", CHANGE, |l| {
        l.starts_with("cpu-threads") && l.contains("threads=4")
    })
    .await?;
    wait_for_text(&s, "setup-line", &setup, CHANGE).await?;

    // The teacher runs it: the student sees the same run, live, then finished.
    chromium::click(&t, "run").await?;
    wait_until(&s, "run-state", "running", LOAD, |r| {
        r.starts_with("running")
    })
    .await?;
    let done = |r: &str| r.starts_with("finished");
    wait_until(&t, "run-state", "finished", Duration::from_secs(120), done).await?;
    wait_until(&s, "run-state", "finished", CHANGE, done).await?;
    let blocks = "document.querySelector('[data-testid=\"timeline-canvas\"]').dataset.blocks ?? ''";
    let (tb, sb): (String, String) = (eval(&t, blocks).await?, eval(&s, blocks).await?);
    if tb != sb {
        return Err(format!("different runs shown: teacher {tb:?}, student {sb:?}").into());
    }

    // The teacher zooms: the student's window follows.
    let whole = same_window(&t, &s).await?;
    for _ in 0..3 {
        key(&t, "w").await?;
    }
    key(&t, "d").await?;
    moved_from(&t, &whole).await?;
    moved_from(&s, &whole).await?;
    let zoomed = same_window(&t, &s).await?;
    screenshot(&s, "classroom-student-following.png").await?;

    // The student explores: its own zoom; then F follows the teacher again.
    // One key: a second one's zoom could land after `own` is read below and look like the
    // teacher's doing.
    key(&s, "s").await?;
    wait_for_text(&s, "following", "exploring: F follows the teacher", CHANGE).await?;
    let own = moved_from(&s, &zoomed).await?;
    // Meanwhile the teacher pans; the exploring student stays where it is.
    key(&t, "a").await?;
    moved_from(&t, &zoomed).await?;
    // The teacher's page shares within 250 ms; give it twice that, then look.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if window(&s).await? != own {
        return Err("an exploring student was moved by the teacher".into());
    }
    key(&s, "f").await?;
    wait_for_text(&s, "following", "following the teacher", CHANGE).await?;
    moved_from(&s, &own).await?;
    let again = same_window(&t, &s).await?;
    if again == zoomed {
        return Err("the teacher's pan did not reach the student that follows again".into());
    }
    screenshot(&t, "classroom-teacher.png").await?;
    let viewers = text(&t, "viewers").await?;
    chromium::same("viewer count", viewers.as_deref(), Some("2 watching"))?;

    // The teacher pins the run and runs again: the student shows both, pinned above.
    chromium::click(&t, "pin").await?;
    chromium::click(&t, "run").await?;
    wait_until(&t, "run-state", "finished", Duration::from_secs(120), done).await?;
    wait_until(&s, "run-state", "finished", CHANGE, done).await?;
    chromium::two_blocks(&s, "the following student").await?;
    // A student who joins now gets the pinned run first, then the run shown.
    let late = chromium::open(&student.browser, &format!("http://{addr}/")).await?;
    wait_for_text(&late, "conn-state", "connected", LOAD).await?;
    chromium::two_blocks(&late, "a student joining after the pin").await?;
    let (tb, lb): (String, String) = (eval(&t, blocks).await?, eval(&late, blocks).await?);
    if tb != lb {
        return Err(format!("different blocks: teacher {tb:?}, late student {lb:?}").into());
    }
    screenshot(&late, "classroom-student-pinned.png").await?;
    Ok(())
}
