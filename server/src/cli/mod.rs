//! The headless command line: `gilscope presets`, `gilscope run`, `gilscope python`,
//! `gilscope compare`, `gilscope open`.

pub mod compare;
pub mod open;
pub mod presets;
pub mod python;
pub mod run;
