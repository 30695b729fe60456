//! The students' URL as a QR code: in the terminal (two rows of modules per line of text)
//! and as SVG for the teacher's page.

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// `url` as a QR code drawn with Unicode half blocks, dark on light, with its quiet zone.
pub fn terminal(url: &str) -> String {
    match QrCode::with_error_correction_level(url, EcLevel::L) {
        Ok(code) => code
            .render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(err) => format!("(no QR code: {err})"),
    }
}

/// `url` as a QR code in SVG, `size` pixels at least.
pub fn svg(url: &str, size: u32) -> Option<String> {
    let code = QrCode::with_error_correction_level(url, EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(size, size)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_square_and_carry_no_error() {
        let text = terminal("http://192.168.1.20:7878/");
        let lines: Vec<&str> = text.lines().collect();
        // Version 2 (25 modules) with a quiet zone of 4 on each side: 33 columns, 17 lines.
        let width = lines[0].chars().count();
        assert!(width >= 25, "{width}");
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(!text.contains("no QR code"));
        let svg = svg("http://192.168.1.20:7878/", 200).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
