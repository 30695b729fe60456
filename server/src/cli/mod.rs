//! The headless command line: `gilscope presets`, `gilscope run`, `gilscope python`.

pub mod presets;
pub mod python;
pub mod run;
