//! The wire: request and response bodies, one file per resource, and the OpenAPI schema
//! of both. The domain and the service know nothing of either.
//!
//! Requests (`…Request`) are deserialized by [`crate::http::extract::ApiJson`] (the
//! intake body by its own field-by-field reader) and converted into the domain's input
//! types, which the domain and the service check with what only they know (the marker
//! behind a path, the role of the key, the practitioner's own markers). Responses
//! (`…View` and the like) are built from domain values; where a response carries a
//! domain value as it is (a report, a range, a practitioner in an export), the value
//! keeps its serde form and its schema is described here by a twin of the same name,
//! which [`schema_of!`] lends to the domain type. The schemathesis test checks every
//! response against the document.

pub mod audit;
pub mod common;
pub mod endpoints;
pub mod examples;
pub mod export;
pub mod form;
pub mod intake;
pub mod keys;
pub mod markers;
pub mod practitioner;
pub mod ranges;

/// Gives each domain type the OpenAPI schema (and component name) of its twin here, so
/// that the domain derives nothing of `utoipa`.
macro_rules! schema_of {
    ($($domain:ty => $twin:ty,)*) => {$(
        impl utoipa::PartialSchema for $domain {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <$twin as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $domain {
            fn name() -> std::borrow::Cow<'static, str> {
                <$twin as utoipa::ToSchema>::name()
            }

            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$twin as utoipa::ToSchema>::schemas(schemas)
            }
        }
    )*};
}
pub(crate) use schema_of;

/// Reads a JSON body into the domain's input as a route does (without the route's error
/// mapping), for the domain's own tests.
#[cfg(test)]
pub fn read<W: serde::de::DeserializeOwned + Into<D>, D>(
    body: serde_json::Value,
) -> Result<D, serde_json::Error> {
    serde_json::from_value::<W>(body).map(Into::into)
}
