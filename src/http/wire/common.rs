//! The shapes every route shares: the error body, lists and pages, and the health
//! answer.

use crate::domain::problems::FieldProblem;
use crate::store::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// The one error shape of every route.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code (`validation_failed`, `unauthorized`, `not_found`, …).
    pub code: &'static str,
    /// Human explanation; never echoes submitted values.
    pub message: String,
    /// For validation errors, one entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

/// `{"status": …}` of the health routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (the store answers).
    pub status: &'static str,
}

/// The one list shape: a page of items and the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

impl<T> PageView<T> {
    /// A page of a list, each item shown with `view`.
    pub fn of<I>(page: Page<I>, view: impl Fn(&I) -> T) -> PageView<T> {
        PageView {
            data: page.items.iter().map(view).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// A whole (short) list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListView<T> {
    /// Every item.
    pub data: Vec<T>,
}
