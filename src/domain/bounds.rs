//! Bounds: an interval of finite numbers with either end open, and the unchecked form
//! a practitioner's request gives. A leaf
//! module (it names nothing else of the domain), so that the catalog and the ranges can
//! both use it without depending on each other.

use serde::{Deserialize, Serialize};

/// An interval of finite numbers, `low ≤ high`, either end of which may be open
/// (`None`: no bound on that side, e.g. folate has no upper reference limit). At least
/// one end is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bounds {
    low: Option<f64>,
    high: Option<f64>,
}

impl Bounds {
    /// A checked closed interval; `None` when either end is not finite or `low > high`.
    pub fn new(low: f64, high: f64) -> Option<Bounds> {
        Bounds::open(Some(low), Some(high))
    }

    /// A checked interval whose ends may be open; `None` when both are open, an end is
    /// not finite, or `low > high`.
    pub fn open(low: Option<f64>, high: Option<f64>) -> Option<Bounds> {
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        let ordered = match (low, high) {
            (Some(l), Some(h)) => l <= h,
            (None, None) => false,
            _ => true,
        };
        (finite(low) && finite(high) && ordered).then_some(Bounds { low, high })
    }

    /// For the static catalog only, whose every entry a test checks; not validated.
    pub const fn from_static(low: Option<f64>, high: Option<f64>) -> Bounds {
        Bounds { low, high }
    }

    /// The lower bound, if any.
    pub fn low(&self) -> Option<f64> {
        self.low
    }

    /// The upper bound, if any.
    pub fn high(&self) -> Option<f64> {
        self.high
    }

    /// Whether `v` lies inside, bounds included.
    pub fn contains(&self, v: f64) -> bool {
        self.low.is_none_or(|l| l <= v) && self.high.is_none_or(|h| v <= h)
    }

    /// Whether this interval lies inside `outer`.
    pub fn within(&self, outer: &Bounds) -> bool {
        let low_ok = match (outer.low, self.low) {
            (None, _) => true,
            (Some(o), Some(i)) => o <= i,
            (Some(_), None) => false,
        };
        let high_ok = match (outer.high, self.high) {
            (None, _) => true,
            (Some(o), Some(i)) => i <= o,
            (Some(_), None) => false,
        };
        low_ok && high_ok
    }
}

impl<'de> Deserialize<'de> for Bounds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The stored form: `low`, `high`, or both (a missing or null end is open).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            #[serde(default)]
            low: Option<f64>,
            #[serde(default)]
            high: Option<f64>,
        }
        let stored = Stored::deserialize(d)?;
        Bounds::open(stored.low, stored.high).ok_or_else(|| {
            serde::de::Error::custom("bounds must be finite, ordered, and at least one set")
        })
    }
}

/// A range as a practitioner asked for it, before it is checked: `low`, `high`, or
/// both (`None`: open), perhaps not finite or not in order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BoundsDraft {
    /// Lower bound.
    pub low: Option<f64>,
    /// Upper bound.
    pub high: Option<f64>,
}
