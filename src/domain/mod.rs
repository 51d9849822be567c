//! The pure domain core: catalog, units, ranges, submission parsing and the gap report.
//!
//! Nothing here performs I/O, reads the clock or draws randomness on its own: time and
//! random sources are passed in. It knows nothing of HTTP, Redis or delivery.

pub mod access;
pub mod bounds;
pub mod catalog;
pub mod colour;
pub mod contact;
pub mod custom;
pub mod delivery;
pub mod endpoint;
pub mod form;
pub mod ids;
pub mod json_body;
pub mod lab_value;
pub mod lead_source;
pub mod practitioner;
pub mod problems;
pub mod ranges;
pub mod report;
pub mod screening;
pub mod settings;
pub mod submission;
pub mod symptoms;
