//! Account routes: profile and settings (with `ETag`/`If-Match`), API keys, the audit
//! log, and the practice's data rights (export, import, deletion and its cancellation).

use super::config::practitioner_view;
use crate::domain::settings::PractitionerPatch;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, OperatorAuth, PractitionerAuth};
use crate::http::AppState;
use crate::service::account::{role_name, ExportDocument, NewApiKeyRequest};
use crate::store::{ApiKeyRecord, Page};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Default page size of every list.
pub const DEFAULT_PAGE: usize = 50;

/// `?cursor=…&limit=…` of every list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Where the previous page ended (`next_cursor`).
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<usize>,
}

impl PageQuery {
    /// The page size asked for, within bounds.
    pub fn limit(&self) -> usize {
        self.limit
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, crate::service::account::MAX_PAGE)
    }
}

/// The one list shape: `{"data": [...], "next_cursor": "…" | null}`.
pub fn page_json<T>(page: Page<T>, view: impl Fn(&T) -> Value) -> Value {
    json!({"data": page.items.iter().map(view).collect::<Vec<_>>(), "next_cursor": page.next_cursor})
}

/// Pages a short list held in full (keys, endpoints): the cursor is the last id seen.
pub fn page_of<T>(items: Vec<T>, id: impl Fn(&T) -> String, query: &PageQuery) -> Page<T> {
    let start = match &query.cursor {
        Some(c) => items
            .iter()
            .position(|i| &id(i) == c)
            .map(|p| p + 1)
            .unwrap_or(items.len()),
        None => 0,
    };
    let limit = query.limit();
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next_cursor = (start + items.len() < total)
        .then(|| items.last().map(&id))
        .flatten();
    Page { items, next_cursor }
}

fn with_etag(p: &crate::domain::practitioner::Practitioner) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, p.etag()))
        .json(practitioner_view(p))
}

/// `GET /v1/practitioner`: profile and settings, with their `ETag`.
pub async fn get_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.practitioner(&auth.0).await?;
    Ok(with_etag(&p))
}

/// `PATCH /v1/practitioner`: corrects profile or settings; `If-Match` guards against
/// overwriting another editor's change (412).
pub async fn patch_practitioner(
    req: HttpRequest,
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(patch): ApiJson<PractitionerPatch>,
) -> Result<HttpResponse, ApiError> {
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    let p = state
        .services
        .patch_practitioner(&auth.0, if_match, patch)
        .await?;
    Ok(with_etag(&p))
}

/// `DELETE /v1/practitioner`: schedules erasure in 30 days; cancellable until then.
pub async fn delete_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.schedule_deletion(&auth.0).await?;
    Ok(HttpResponse::Accepted().json(practitioner_view(&p)))
}

/// `POST /v1/practitioner/restore`: cancels a scheduled erasure.
pub async fn restore_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.cancel_deletion(&auth.0).await?;
    Ok(with_etag(&p))
}

/// `GET /v1/practitioner/export`: everything held about the practice, no secrets.
pub async fn export(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let doc = state.services.export(&auth.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(doc))
}

/// `POST /v1/practitioner/import` (operator): recreates an exported practice here.
pub async fn import(
    _: OperatorAuth,
    state: web::Data<AppState>,
    ApiJson(doc): ApiJson<ExportDocument>,
) -> Result<HttpResponse, ApiError> {
    let (p, key, endpoints) = state.services.import(doc).await?;
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|c| json!({"id": c.record.id, "secret": c.secret.to_whsec(), "encryption_key": c.key.to_jwk()}))
        .collect();
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"practitioner": practitioner_view(&p), "api_key": key.expose(), "endpoints": endpoints})))
}

fn key_view(k: &ApiKeyRecord, last_used_ms: Option<i64>) -> Value {
    let last_used = last_used_ms
        .and_then(|ms| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        })
        .map(crate::delivery::payload::rfc3339);
    json!({
        "id": k.id,
        "role": role_name(k.role),
        "label": k.label,
        "prefix": k.prefix,
        "created_at": crate::delivery::payload::rfc3339(k.created_at),
        "last_used_at": last_used,
    })
}

/// `POST /v1/api-keys`: a new key, shown once.
pub async fn create_api_key(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (record, key) = state.services.create_api_key(&auth.0, req).await?;
    let mut body = key_view(&record, None);
    body["api_key"] = Value::String(key.expose().to_owned());
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `GET /v1/api-keys`: keys without secrets.
pub async fn list_api_keys(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.services.api_keys(&auth.0).await?;
    let page = page_of(keys, |(k, _)| k.id.to_string(), &query);
    Ok(HttpResponse::Ok().json(page_json(page, |(k, used)| key_view(k, *used))))
}

/// `DELETE /v1/api-keys/{id}`: revokes at once (never the last owner key: 409).
pub async fn revoke_api_key(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.revoke_api_key(&auth.0, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/audit-log`: newest first, paginated; owners only.
pub async fn audit_log(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .audit_log(&auth.0, query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(page_json(page, |e| json!(e))))
}
