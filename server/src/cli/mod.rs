//! The headless command line: `gilscope presets`, `gilscope run`, `gilscope python`,
//! `gilscope compare`.

pub mod compare;
pub mod presets;
pub mod python;
pub mod run;
