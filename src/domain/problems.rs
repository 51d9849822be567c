//! Field-level validation problems, the domain's answer to "what is wrong with this input".
//!
//! A problem names the offending field by its path in the request body
//! (`labs[1].unit`) and says what is wrong in words that never repeat the submitted
//! value, so that an error response or a log line can never carry patient data.

use serde::Serialize;

/// One thing wrong with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// Path of the field in the request body, e.g. `labs[1].unit`.
    pub field: String,
    /// What is wrong, without echoing the value.
    pub problem: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Collects problems so that every one of them is reported at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldProblem::new(field, problem));
    }

    /// Records problems found elsewhere (a part of the request parsed on its own).
    pub fn extend(&mut self, problems: impl IntoIterator<Item = FieldProblem>) {
        self.0.extend(problems);
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no problem was recorded, else every problem.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldProblem>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }

    /// The problems recorded so far.
    pub fn into_vec(self) -> Vec<FieldProblem> {
        self.0
    }
}

/// A string wrapper for patient-entered text: `Debug` and `Display` print
/// `[redacted]`, so a stray `{:?}` in a log line or a panic cannot leak it.
/// It serializes as the plain string because it is only ever serialized into a
/// payload that is encrypted before it leaves memory.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a sensitive value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The sensitive value, for the code paths that must see it (rendering an
    /// encrypted payload, the report shown to the patient).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> std::fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_values_never_show_in_debug_or_display() {
        let v = Redacted::new("Jane Canary".to_owned());
        assert_eq!(format!("{v:?}"), "[redacted]");
        assert_eq!(format!("{v}"), "[redacted]");
        assert_eq!(
            serde_json::to_string(&v).ok().as_deref(),
            Some("\"Jane Canary\"")
        );
    }

    #[test]
    fn problems_are_all_reported_at_once() {
        let mut p = Problems::new();
        p.add("a", "x");
        p.add("b", "y");
        let err = p.finish(|| ()).err().unwrap_or_default();
        assert_eq!(err.len(), 2);
        assert_eq!(err[1].field, "b");
    }
}
