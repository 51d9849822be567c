//! Account routes: profile and settings (with `ETag`/`If-Match`), API keys, the audit
//! log, and the practice's data rights (export, import, deletion and its cancellation).

use super::config::practitioner_view;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, OperatorAuth, PractitionerAuth};
use crate::http::wire::audit::AuditEntryView;
use crate::http::wire::common::{ErrorBody, PageView};
use crate::http::wire::export::{EndpointSecrets, ImportedPractitioner};
use crate::http::wire::keys::NewApiKeyRequest;
use crate::http::wire::keys::{ApiKeyView, CreatedApiKey};
use crate::http::wire::practitioner::PractitionerPatchRequest;
use crate::http::wire::practitioner::{ConsentVersionView, PractitionerView};
use crate::http::AppState;
use crate::service::account::ExportDocument;
use crate::store::Page;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Default page size of every list.
pub const DEFAULT_PAGE: usize = 50;

/// `?cursor=…&limit=…` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Where the previous page ended (`next_cursor`).
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
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
#[utoipa::path(
    get, path = "/v1/practitioner", tag = "account", security(("api_key" = [])),
    responses(
        (status = 200, description = "The practitioner; `ETag` header for `If-Match`", body = PractitionerView,
         headers(("ETag" = String, description = "Version of the settings, for If-Match")),
         example = crate::http::wire::examples::practitioner),
    )
)]
pub async fn get_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.practitioner(&auth.0).await?;
    Ok(with_etag(&p))
}

/// `PATCH /v1/practitioner`: corrects profile or settings; `If-Match` guards against
/// overwriting another editor's change (412).
#[utoipa::path(
    patch, path = "/v1/practitioner", tag = "account", security(("api_key" = [])),
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if the settings changed since")),
    request_body(content = PractitionerPatchRequest, example = crate::http::wire::examples::practitioner_patch_request),
    responses(
        (status = 200, description = "The corrected practitioner, with its new `ETag`", body = PractitionerView,
         headers(("ETag" = String, description = "Version of the settings, for If-Match")),
         example = crate::http::wire::examples::practitioner),
        (status = 412, description = "The settings changed since the `If-Match` version", body = ErrorBody,
         example = crate::http::wire::examples::precondition_failed),
    )
)]
pub async fn patch_practitioner(
    req: HttpRequest,
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(patch): ApiJson<PractitionerPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    let p = state
        .services
        .patch_practitioner(&auth.0, if_match, patch.into())
        .await?;
    Ok(with_etag(&p))
}

/// `GET /v1/practitioner/consent-versions`: every version of the consent wording,
/// newest first, each with the SHA-256 webhooks carry (any role).
#[utoipa::path(
    get, path = "/v1/practitioner/consent-versions", tag = "account", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of consent versions, newest first", body = PageView<ConsentVersionView>,
        example = crate::http::wire::examples::consent_versions_page))
)]
pub async fn consent_versions(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .consent_versions(&auth.0, query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(page, ConsentVersionView::new)))
}

/// `GET /v1/practitioner/consent-versions/{version}`: one version of the consent wording.
#[utoipa::path(
    get, path = "/v1/practitioner/consent-versions/{version}", tag = "account", security(("api_key" = [])),
    params(("version" = u32, Path, description = "The version (`consent.version` of a webhook)")),
    responses(
        (status = 200, description = "The wording of that version and its SHA-256", body = ConsentVersionView,
         example = crate::http::wire::examples::consent_version),
        (status = 404, description = "No such version (`not_found`)", body = ErrorBody,
         example = crate::http::wire::examples::consent_version_not_found),
    )
)]
pub async fn consent_version(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let v = state.services.consent_version(&auth.0, &path).await?;
    Ok(HttpResponse::Ok().json(ConsentVersionView::new(&v)))
}

/// `DELETE /v1/practitioner`: schedules erasure in 30 days; cancellable until then.
#[utoipa::path(
    delete, path = "/v1/practitioner", tag = "account", security(("api_key" = [])),
    responses(
        (status = 202, description = "Erasure scheduled (`erase_at`); `POST /v1/practitioner/restore` cancels it", body = PractitionerView,
         example = crate::http::wire::examples::practitioner_erasure_scheduled),
    )
)]
pub async fn delete_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.schedule_deletion(&auth.0).await?;
    Ok(HttpResponse::Accepted().json(practitioner_view(&p)))
}

/// `POST /v1/practitioner/restore`: cancels a scheduled erasure.
#[utoipa::path(
    post, path = "/v1/practitioner/restore", tag = "account", security(("api_key" = [])),
    responses(
        (status = 200, description = "Erasure cancelled", body = PractitionerView,
         headers(("ETag" = String, description = "Version of the settings, for If-Match")),
         example = crate::http::wire::examples::practitioner),
        (status = 409, description = "No erasure is scheduled (`conflict`)", body = ErrorBody,
         example = crate::http::wire::examples::no_erasure_scheduled),
    )
)]
pub async fn restore_practitioner(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.cancel_deletion(&auth.0).await?;
    Ok(with_etag(&p))
}

/// `GET /v1/practitioner/export`: everything held about the practice, no secrets.
#[utoipa::path(
    get, path = "/v1/practitioner/export", tag = "account", security(("api_key" = [])),
    responses(
        (status = 200, description = "The export document, accepted by `POST /v1/practitioner/import`", body = ExportDocument,
         example = crate::http::wire::examples::export_document),
    )
)]
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
#[utoipa::path(
    post, path = "/v1/practitioner/import", tag = "operator", security(("operator" = [])),
    request_body(content = ExportDocument, example = crate::http::wire::examples::export_document),
    responses(
        (status = 201, description = "The practice, a new owner key and new endpoint secrets (shown once)", body = ImportedPractitioner,
         example = crate::http::wire::examples::imported_practitioner),
        (status = 409, description = "The practitioner or slug already exists here", body = ErrorBody,
         example = crate::http::wire::examples::practitioner_exists),
    )
)]
pub async fn import(
    _: OperatorAuth,
    state: web::Data<AppState>,
    ApiJson(doc): ApiJson<ExportDocument>,
) -> Result<HttpResponse, ApiError> {
    let (p, key, endpoints) = state.services.import(doc).await?;
    let endpoints: Vec<EndpointSecrets> = endpoints
        .iter()
        .map(|c| EndpointSecrets {
            id: c.record.id.clone(),
            secret: c.secret.to_whsec(),
            encryption_key: crate::http::wire::endpoints::issued_key(&c.record, &c.key),
        })
        .collect();
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ImportedPractitioner {
            practitioner: practitioner_view(&p),
            api_key: key.expose().to_owned(),
            endpoints,
        }))
}

/// `POST /v1/api-keys`: a new key, shown once.
#[utoipa::path(
    post, path = "/v1/api-keys", tag = "api keys", security(("api_key" = [])),
    request_body(content = NewApiKeyRequest, example = crate::http::wire::examples::new_api_key_request),
    responses(
        (status = 201, description = "The new key; `api_key` is shown only here", body = CreatedApiKey,
         example = crate::http::wire::examples::created_api_key),
    )
)]
pub async fn create_api_key(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (record, key) = state.services.create_api_key(&auth.0, req.into()).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedApiKey {
            key: ApiKeyView::new(&record, None),
            api_key: key.expose().to_owned(),
        }))
}

/// `GET /v1/api-keys`: keys without secrets.
#[utoipa::path(
    get, path = "/v1/api-keys", tag = "api keys", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of keys, without secrets", body = PageView<ApiKeyView>,
        example = crate::http::wire::examples::api_keys_page))
)]
pub async fn list_api_keys(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.services.api_keys(&auth.0).await?;
    let page = page_of(keys, |(k, _)| k.id.to_string(), &query);
    Ok(HttpResponse::Ok().json(PageView::of(page, |(k, used)| ApiKeyView::new(k, *used))))
}

/// `DELETE /v1/api-keys/{id}`: revokes at once (never the last owner key: 409).
#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "api keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 409, description = "The last owner key cannot be revoked", body = ErrorBody,
         example = crate::http::wire::examples::last_owner_key),
    )
)]
pub async fn revoke_api_key(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.revoke_api_key(&auth.0, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/audit-log`: newest first, paginated; owners only.
#[utoipa::path(
    get, path = "/v1/audit-log", tag = "account", security(("api_key" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of audit entries, newest first", body = PageView<AuditEntryView>,
        example = crate::http::wire::examples::audit_log_page))
)]
pub async fn audit_log(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .audit_log(&auth.0, query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(page, AuditEntryView::new)))
}
