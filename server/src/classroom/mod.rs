//! Classroom mode (issue #12): the teacher drives, every student's page follows.
//!
//! [`token`] (the teacher's secret), [`teacher_url`] (`/?token=…` becomes a cookie, and no
//! URI keeps the token), [`follow`] (the shared state and the viewer count), [`lan`] (the
//! students' URLs), [`qr`] (their QR code). Who may act is decided in [`crate::role`].

pub mod follow;
pub mod lan;
pub mod qr;
pub mod teacher_url;
pub mod token;

pub use follow::Follow;
pub use token::Token;

/// A class: the teacher's token and the URLs students open.
#[derive(Clone, Debug)]
pub struct Classroom {
    pub token: Token,
    /// One per reachable address of this machine ([`lan::student_urls`]).
    pub students: Vec<String>,
}
