//! The headless command line: `gilscope presets`, `gilscope run`.

pub mod presets;
pub mod run;
