//! Brand colours and legibility: parsing `#RGB` / `#RRGGBB`, the WCAG 2.x relative
//! luminance and contrast ratio, and the darkest-needed shade of a colour that white
//! text can be read on.
//!
//! The form draws white text on the practice's colours (the submit button, headings
//! on a coloured band), so a colour is only usable when it reaches the WCAG AA ratio
//! for normal text against white. Contrast is symmetric, so the same ratio also holds
//! for the colour used as text on a white page.

/// The contrast WCAG 2.x level AA asks of normal-size text.
pub const MIN_CONTRAST: f64 = 4.5;

/// What [`readable_on_white`] answers for something that is not a colour: the form's
/// default primary colour, which white text can be read on.
pub const FALLBACK: &str = "#1a6b4f";

/// An sRGB colour with 8 bits a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    /// Red, 0–255.
    pub r: u8,
    /// Green, 0–255.
    pub g: u8,
    /// Blue, 0–255.
    pub b: u8,
}

/// White.
pub const WHITE: Rgb = Rgb {
    r: 255,
    g: 255,
    b: 255,
};

impl Rgb {
    /// Parses `#RGB` or `#RRGGBB` (either case; surrounding spaces are ignored).
    pub fn parse(s: &str) -> Option<Rgb> {
        let hex = s.trim().strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
        match hex.len() {
            // `#abc` is `#aabbcc`: each digit stands for itself twice (× 17).
            3 => Some(Rgb {
                r: digit(0)? * 17,
                g: digit(1)? * 17,
                b: digit(2)? * 17,
            }),
            6 => {
                let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
                Some(Rgb {
                    r: pair(0)?,
                    g: pair(2)?,
                    b: pair(4)?,
                })
            }
            _ => None,
        }
    }

    /// The colour as lowercase `#rrggbb`.
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// WCAG 2.x relative luminance: 0 for black, 1 for white.
    pub fn relative_luminance(self) -> f64 {
        fn linear(channel: u8) -> f64 {
            let c = f64::from(channel) / 255.0;
            // WCAG 2.x prints 0.03928, the sRGB standard 0.04045; no 8-bit value lies
            // between the two, so both give the same result.
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }

    /// The colour's hue (degrees), saturation and lightness (both 0–1).
    fn to_hsl(self) -> (f64, f64, f64) {
        let [r, g, b] = [self.r, self.g, self.b].map(|c| f64::from(c) / 255.0);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let l = (max + min) / 2.0;
        let d = max - min;
        if d == 0.0 {
            return (0.0, 0.0, l);
        }
        let s = d / (1.0 - (2.0 * l - 1.0).abs());
        let h = if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, s, l)
    }

    /// The colour of hue `h` (degrees), saturation `s` and lightness `l` (0–1).
    fn from_hsl(h: f64, s: f64, l: f64) -> Rgb {
        let a = s * l.min(1.0 - l);
        let channel = |n: f64| {
            let k = (n + h / 30.0).rem_euclid(12.0);
            let v = l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
            // In 0..=255 after the clamp, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let byte = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            byte
        };
        Rgb {
            r: channel(0.0),
            g: channel(8.0),
            b: channel(4.0),
        }
    }
}

/// The WCAG 2.x contrast ratio of two colours, from 1 (same) to 21 (black on white).
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.relative_luminance(), b.relative_luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The contrast of a `#RGB` / `#RRGGBB` colour against white; `None` if it is not one.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    Rgb::parse(hex).map(|c| contrast_ratio(c, WHITE))
}

/// Whether white text on the colour (and the colour on white) reaches [`MIN_CONTRAST`].
pub fn is_readable_on_white(c: Rgb) -> bool {
    contrast_ratio(c, WHITE) >= MIN_CONTRAST
}

/// The colour itself as `#rrggbb` when white text can be read on it; otherwise the
/// lightest shade of the same hue and saturation, darkened in small steps, that
/// reaches [`MIN_CONTRAST`] against white. Something that is not a colour gives
/// [`FALLBACK`].
pub fn readable_on_white(hex: &str) -> String {
    let Some(c) = Rgb::parse(hex) else {
        return FALLBACK.to_owned();
    };
    if is_readable_on_white(c) {
        return c.to_hex();
    }
    let (h, s, l) = c.to_hsl();
    // Each channel, and so the luminance, falls as lightness falls at a fixed hue and
    // saturation; lightness 0 is black (21:1), so the walk always ends.
    let steps = 400;
    (1..=steps)
        .map(|i| l * f64::from(steps - i) / f64::from(steps))
        .map(|l| Rgb::from_hsl(h, s, l))
        .find(|c| is_readable_on_white(*c))
        .unwrap_or(Rgb { r: 0, g: 0, b: 0 })
        .to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(hex: &str) -> Rgb {
        Rgb::parse(hex).unwrap_or_else(|| panic!("{hex}"))
    }

    fn ratio(a: &str, b: &str) -> f64 {
        contrast_ratio(rgb(a), rgb(b))
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.005
    }

    #[test]
    fn short_and_long_hex_colours_parse_alike() {
        assert_eq!(rgb("#fff"), WHITE);
        assert_eq!(rgb("#FfFfFf"), WHITE);
        assert_eq!(rgb(" #1a6b4f ").to_hex(), "#1a6b4f");
        assert_eq!(rgb("#abc"), rgb("#aabbcc"));
        for bad in [
            "fff", "#ffff", "#ggg", "#12345", "#1234567", "#", "", "#+1f", "#é1",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn luminance_runs_from_black_to_white() {
        assert_eq!(rgb("#000").relative_luminance(), 0.0);
        assert!(near(WHITE.relative_luminance(), 1.0));
        // Known answers: pure sRGB primaries weigh 0.2126, 0.7152 and 0.0722.
        assert!(near(rgb("#f00").relative_luminance(), 0.2126));
        assert!(near(rgb("#0f0").relative_luminance(), 0.7152));
        assert!(near(rgb("#00f").relative_luminance(), 0.0722));
    }

    #[test]
    fn contrast_ratios_match_published_answers() {
        assert!(near(ratio("#000", "#fff"), 21.0));
        assert!(near(ratio("#fff", "#fff"), 1.0));
        // #777 on white is the classic "just fails AA" grey: 4.48:1.
        assert!(
            near(ratio("#777", "#fff"), 4.48),
            "{}",
            ratio("#777", "#fff")
        );
        // #767676 is the lightest grey that passes: 4.54:1.
        assert!(near(ratio("#767676", "#fff"), 4.54));
        assert!(near(ratio("#f00", "#fff"), 4.0));
        assert!(near(ratio("#00f", "#fff"), 8.59));
        assert!(near(ratio("#fff", "#777"), ratio("#777", "#fff")));
    }

    #[test]
    fn the_default_brand_colours_are_readable() {
        for c in [FALLBACK, "#2d4a6b"] {
            assert!(is_readable_on_white(rgb(c)), "{c}");
            assert_eq!(readable_on_white(c), c);
        }
    }

    #[test]
    fn a_light_colour_is_darkened_just_enough_and_keeps_its_hue() {
        for light in [
            "#7fd1ae", "#ffcc00", "#f00", "#777", "#e0e0ff", "#fff", "#3cb371",
        ] {
            let dark = readable_on_white(light);
            let d = rgb(&dark);
            assert!(is_readable_on_white(d), "{light} → {dark}");
            assert!(
                contrast_ratio(d, WHITE) < 5.0,
                "{light} → {dark} is darker than needed"
            );
            let (h0, s0, _) = rgb(light).to_hsl();
            let (h1, s1, _) = d.to_hsl();
            if s0 > 0.0 {
                let dh = (h0 - h1).abs();
                assert!(dh.min(360.0 - dh) < 6.0, "{light} → {dark}: hue moved");
                assert!((s0 - s1).abs() < 0.06, "{light} → {dark}: saturation moved");
            } else {
                assert!(
                    d.r == d.g && d.g == d.b,
                    "{light} → {dark}: grey stays grey"
                );
            }
        }
        assert_eq!(readable_on_white("#777"), "#767676");
    }

    #[test]
    fn something_that_is_not_a_colour_gets_the_fallback() {
        assert_eq!(readable_on_white("green"), FALLBACK);
        assert_eq!(contrast_with_white("green"), None);
    }

    proptest::proptest! {
        #[test]
        fn every_colour_has_a_readable_shade(r: u8, g: u8, b: u8) {
            let c = Rgb { r, g, b };
            let hex = readable_on_white(&c.to_hex());
            let fixed = Rgb::parse(&hex);
            proptest::prop_assert!(fixed.is_some_and(is_readable_on_white));
            if is_readable_on_white(c) {
                proptest::prop_assert_eq!(fixed, Some(c));
            }
        }

        #[test]
        fn hsl_round_trips(r: u8, g: u8, b: u8) {
            let c = Rgb { r, g, b };
            let (h, s, l) = c.to_hsl();
            proptest::prop_assert_eq!(Rgb::from_hsl(h, s, l), c);
        }
    }
}
