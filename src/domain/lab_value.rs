//! A lab value as a lab report prints it: a number, perhaps with a decimal comma, or a
//! censored result such as `<0.5` or `>1000`. Parsed once into a [`LabValue`]; no error
//! ever repeats the text it was given.

use serde::Serialize;
use std::fmt;

/// Which side of a detection limit a censored result lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Qualifier {
    /// Below the limit (`<0.5`, also `<=`/`≤`, which a report prints for the same thing).
    #[serde(rename = "<")]
    Below,
    /// Above the limit (`>1000`, also `>=`/`≥`).
    #[serde(rename = ">")]
    Above,
}

impl Qualifier {
    /// The sign a report prints: `<` or `>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Qualifier::Below => "<",
            Qualifier::Above => ">",
        }
    }
}

/// A finite lab value, censored or not. A censored result is judged as if it were at its
/// bound, and keeps its qualifier so the report can say so.
#[derive(Clone, Copy, PartialEq)]
pub struct LabValue {
    value: f64,
    qualifier: Option<Qualifier>,
}

impl fmt::Debug for LabValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LabValue([redacted])")
    }
}

/// Why a lab value was refused. The texts say what is wrong without the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabValueError {
    /// Nothing but spaces.
    #[error("is empty; type the value as printed on the lab report")]
    Empty,
    /// Both a comma and a point, or several commas: a thousands separator, whose
    /// meaning depends on the country the report was printed in.
    #[error("has a thousands separator; type the number without it (e.g. 1234.5 or 1234,5)")]
    ThousandsSeparator,
    /// Not a number at all.
    #[error("must be a number as printed on the lab report, such as 5.2, 5,2 or <0.5")]
    NotANumber,
    /// Infinite or NaN (a number too large to represent, or one built in code).
    #[error("must be a finite number")]
    NotFinite,
}

impl LabValue {
    /// An exact (uncensored) value; refused unless finite.
    pub fn exact(value: f64) -> Result<LabValue, LabValueError> {
        if value.is_finite() {
            Ok(LabValue {
                value,
                qualifier: None,
            })
        } else {
            Err(LabValueError::NotFinite)
        }
    }

    /// Parses a value typed as a report prints it: spaces around it are ignored, a comma
    /// is a decimal separator (`5,2` is 5.2), and a leading `<`, `>`, `<=`, `>=`, `≤` or
    /// `≥` (with or without a space after it) marks a censored result. Thousands
    /// separators, exponents and units are refused.
    pub fn parse(text: &str) -> Result<LabValue, LabValueError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LabValueError::Empty);
        }
        let (qualifier, number) = split_qualifier(text);
        let number = number.trim_start();
        let value = parse_decimal(number)?;
        if !value.is_finite() {
            return Err(LabValueError::NotFinite);
        }
        Ok(LabValue { value, qualifier })
    }

    /// The number; for a censored result, its bound.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// `Some` for a censored result.
    pub fn qualifier(&self) -> Option<Qualifier> {
        self.qualifier
    }
}

fn split_qualifier(text: &str) -> (Option<Qualifier>, &str) {
    // Longest prefixes first, so that `<=` is not read as `<` followed by `=`.
    const PREFIXES: [(&str, Qualifier); 6] = [
        ("<=", Qualifier::Below),
        (">=", Qualifier::Above),
        ("≤", Qualifier::Below),
        ("≥", Qualifier::Above),
        ("<", Qualifier::Below),
        (">", Qualifier::Above),
    ];
    PREFIXES
        .iter()
        .find_map(|(prefix, q)| text.strip_prefix(prefix).map(|rest| (Some(*q), rest)))
        .unwrap_or((None, text))
}

/// An optional sign, then digits with at most one decimal separator (point or comma)
/// and at least one digit. Checked by hand so that Rust's float syntax (`inf`, `NaN`,
/// `1e3`) is not accepted from a patient.
fn parse_decimal(number: &str) -> Result<f64, LabValueError> {
    let unsigned = number
        .strip_prefix('-')
        .or_else(|| number.strip_prefix('+'))
        .unwrap_or(number);
    let mut digits = 0usize;
    let (mut points, mut commas) = (0usize, 0usize);
    for c in unsigned.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => points += 1,
            ',' => commas += 1,
            _ => return Err(LabValueError::NotANumber),
        }
    }
    if digits == 0 || points > 1 {
        return Err(LabValueError::NotANumber);
    }
    if commas > 1 || (commas == 1 && points == 1) {
        return Err(LabValueError::ThousandsSeparator);
    }
    number
        .replace(',', ".")
        .parse::<f64>()
        .map_err(|_| LabValueError::NotANumber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parsed(text: &str) -> (f64, Option<Qualifier>) {
        let v = LabValue::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (v.value(), v.qualifier())
    }

    #[test]
    fn plain_numbers_parse_with_a_point_or_a_comma_and_spaces_around() {
        assert_eq!(parsed("5.2"), (5.2, None));
        assert_eq!(parsed("5,2"), (5.2, None));
        assert_eq!(parsed("  5,2 "), (5.2, None));
        assert_eq!(parsed("42"), (42.0, None));
        assert_eq!(parsed("0,05"), (0.05, None));
        assert_eq!(parsed(",5"), (0.5, None));
        assert_eq!(parsed("7."), (7.0, None));
        assert_eq!(parsed("-1,5"), (-1.5, None));
        // A single comma is always a decimal comma, even before three digits.
        assert_eq!(parsed("1,234"), (1.234, None));
    }

    #[test]
    fn censored_results_are_at_their_bound_and_keep_their_side() {
        let below = Some(Qualifier::Below);
        let above = Some(Qualifier::Above);
        assert_eq!(parsed("<0.5"), (0.5, below));
        assert_eq!(parsed("< 0.5"), (0.5, below));
        assert_eq!(parsed(" <0,5 "), (0.5, below));
        assert_eq!(parsed("<=0.5"), (0.5, below));
        assert_eq!(parsed("≤ 0.5"), (0.5, below));
        assert_eq!(parsed(">1000"), (1000.0, above));
        assert_eq!(parsed(">= 1000"), (1000.0, above));
        assert_eq!(parsed("≥1000"), (1000.0, above));
    }

    #[test]
    fn thousands_separators_are_refused_as_ambiguous() {
        for text in ["1,234.5", "1.234,5", "1,234,567"] {
            assert_eq!(
                LabValue::parse(text),
                Err(LabValueError::ThousandsSeparator),
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        for text in [
            "abc",
            "5.2 mIU/L",
            "1e3",
            "inf",
            "NaN",
            "-",
            ".",
            "<",
            "<>5",
            "5..2",
            "1.2.3",
            "5 2",
            "--5",
            "0x10",
            "five",
        ] {
            assert_eq!(
                LabValue::parse(text),
                Err(LabValueError::NotANumber),
                "{text}"
            );
        }
        assert_eq!(LabValue::parse("   "), Err(LabValueError::Empty));
        assert_eq!(
            LabValue::parse(&"9".repeat(400)),
            Err(LabValueError::NotFinite)
        );
        assert_eq!(LabValue::exact(f64::NAN), Err(LabValueError::NotFinite));
    }

    #[test]
    fn problems_never_repeat_the_value() {
        for text in ["CANARY-5,2", "1,234.5", "<<9"] {
            let err = LabValue::parse(text).err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| !e.contains(text)), "{text}");
        }
    }

    #[test]
    fn qualifiers_serialise_as_the_signs_a_report_prints() {
        assert_eq!(
            serde_json::to_string(&[Qualifier::Below, Qualifier::Above]).ok(),
            Some(r#"["<",">"]"#.to_owned())
        );
        assert_eq!(Qualifier::Above.as_str(), ">");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = LabValue::parse("<0.123456").unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{v:?}").contains("123456"));
    }

    proptest! {
        #[test]
        fn any_finite_number_written_with_a_decimal_comma_parses_back_to_itself(
            v in any::<f64>().prop_filter("finite", |v| v.is_finite())
        ) {
            // `Display` for f64 writes the shortest decimal that reads back as the same
            // number, never in exponent form.
            let text = format!("{v}").replace('.', ",");
            prop_assert_eq!(LabValue::parse(&text).map(|p| p.value()), Ok(v));
            prop_assert_eq!(LabValue::parse(&format!("{v}")).map(|p| p.value()), Ok(v));
        }

        #[test]
        fn censored_values_of_any_size_parse_at_their_bound(
            v in 0.0f64..1.0e9, below in any::<bool>(), space in any::<bool>()
        ) {
            let sign = if below { "<" } else { ">" };
            let text = format!("{sign}{}{v}", if space { " " } else { "" }).replace('.', ",");
            let parsed = LabValue::parse(&text);
            prop_assert_eq!(parsed.map(|p| p.value()), Ok(v));
            prop_assert_eq!(
                parsed.map(|p| p.qualifier()),
                Ok(Some(if below { Qualifier::Below } else { Qualifier::Above }))
            );
        }
    }
}
