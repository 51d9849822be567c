//! Practitioner configuration routes: profile, markers and ranges.

use crate::domain::access::Access;
use crate::domain::catalog::{self, Sex};
use crate::domain::custom::symptom_listing;
use crate::domain::custom::SymptomView;
use crate::domain::practitioner::Practitioner;
use crate::domain::problems::FieldProblem;
use crate::domain::ranges::{effective_range, RangeOverride};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, PractitionerAuth};
use crate::http::wire::common::ListView;
use crate::http::wire::markers::MarkerView;
use crate::http::wire::markers::{CustomMarkerRequest, SymptomSettingsRequest};
use crate::http::wire::practitioner::PractitionerView;
use crate::http::wire::ranges::RangeRequest;
use crate::http::wire::ranges::RangeView;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// The practitioner as shown to its own keys and the operator.
pub fn practitioner_view(p: &Practitioner) -> PractitionerView {
    PractitionerView::from(p)
}

/// `GET /v1/markers`: the catalog with this practitioner's effective ranges (for
/// everyone, and per sex where they differ), then the practitioner's own markers.
#[utoipa::path(
    get, path = "/v1/markers", tag = "configuration", security(("api_key" = [])),
    responses((status = 200, description = "Every marker with its effective ranges", body = ListView<MarkerView>,
        example = crate::http::wire::examples::markers_list))
)]
pub async fn markers(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let overrides = state.services.ranges(&auth.0).await?;
    let custom = state.services.custom_markers(&auth.0).await?;
    let list: Vec<MarkerView> = catalog::markers()
        .iter()
        .map(|m| {
            let everyone = effective_range(m, None, &overrides);
            let mut ranges = vec![RangeView::new(m, &everyone)];
            for sex in [Sex::Female, Sex::Male] {
                let r = effective_range(m, Some(sex), &overrides);
                if r != everyone {
                    ranges.push(RangeView::new(m, &r));
                }
            }
            MarkerView::catalog(m, ranges)
        })
        .chain(custom.iter().map(MarkerView::from))
        .collect();
    Ok(HttpResponse::Ok().json(ListView { data: list }))
}

/// `PUT /v1/markers/{id}`: defines (or replaces) a custom marker.
#[utoipa::path(
    put, path = "/v1/markers/{id}", tag = "configuration", security(("api_key" = [])),
    params(("id" = String, Path, description = "The custom marker's id (not a catalog id or LOINC code)")),
    request_body(content = CustomMarkerRequest, example = crate::http::wire::examples::custom_marker_request),
    responses((status = 200, description = "The custom marker", body = MarkerView,
        example = crate::http::wire::examples::custom_marker))
)]
pub async fn put_custom_marker(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(req): ApiJson<CustomMarkerRequest>,
) -> Result<HttpResponse, ApiError> {
    let marker = state
        .services
        .put_custom_marker(&auth.0, &path, req.into())
        .await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = %marker.id, "custom marker set");
    Ok(HttpResponse::Ok().json(MarkerView::from(&marker)))
}

/// `DELETE /v1/markers/{id}`: removes a custom marker.
#[utoipa::path(
    delete, path = "/v1/markers/{id}", tag = "configuration", security(("api_key" = [])),
    params(("id" = String, Path, description = "The custom marker's id")),
    responses((status = 204, description = "Removed"))
)]
pub async fn delete_custom_marker(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.delete_custom_marker(&auth.0, &path).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "custom marker deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/symptoms`: every symptom the form can offer, with whether it does.
#[utoipa::path(
    get, path = "/v1/symptoms", tag = "configuration", security(("api_key" = [])),
    responses((status = 200, description = "Catalog and own symptoms, each with whether the form offers it", body = ListView<SymptomView>,
        example = crate::http::wire::examples::symptoms_list))
)]
pub async fn symptoms(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.0.require(Access::Read)?;
    let p = state.services.practitioner(&auth.0).await?;
    Ok(HttpResponse::Ok().json(ListView {
        data: symptom_listing(p.settings.symptoms.as_ref()),
    }))
}

/// `PUT /v1/symptoms`: which symptoms the form offers, in order, and the practitioner's own.
#[utoipa::path(
    put, path = "/v1/symptoms", tag = "configuration", security(("api_key" = [])),
    request_body(content = SymptomSettingsRequest, example = crate::http::wire::examples::symptom_settings_request),
    responses((status = 200, description = "The symptoms as now listed", body = ListView<SymptomView>,
        example = crate::http::wire::examples::symptoms_list))
)]
pub async fn put_symptoms(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<SymptomSettingsRequest>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.put_symptoms(&auth.0, req.into()).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "symptoms set");
    Ok(HttpResponse::Ok().json(ListView {
        data: symptom_listing(p.settings.symptoms.as_ref()),
    }))
}

/// `PUT /v1/ranges/{marker}`: sets the practitioner's range; answers the effective range.
#[utoipa::path(
    put, path = "/v1/ranges/{marker}", tag = "configuration", security(("api_key" = [])),
    params(("marker" = String, Path, description = "Catalog id or LOINC code")),
    request_body(content = RangeRequest, example = crate::http::wire::examples::range_request),
    responses((status = 200, description = "The effective range", body = RangeView,
        example = crate::http::wire::examples::tsh_range_set))
)]
pub async fn put_range(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(req): ApiJson<RangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let stored: RangeOverride = state.services.put_range(&auth.0, &path, req.into()).await?;
    let marker = catalog::find(&stored.marker).ok_or_else(|| ApiError::not_found("marker"))?;
    let effective = effective_range(marker, stored.sex, std::slice::from_ref(&stored));
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = marker.id, "range set");
    Ok(HttpResponse::Ok().json(RangeView::new(marker, &effective)))
}

/// Query of `DELETE /v1/ranges/{marker}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SexQuery {
    /// `female` or `male`: reset only that population's range.
    #[param(value_type = Option<Sex>)]
    sex: Option<String>,
}

/// `DELETE /v1/ranges/{marker}?sex=`: returns the marker to its default; answers the
/// range now in effect.
#[utoipa::path(
    delete, path = "/v1/ranges/{marker}", tag = "configuration", security(("api_key" = [])),
    params(("marker" = String, Path, description = "Catalog id or LOINC code"), SexQuery),
    responses(
        (status = 200, description = "The range now in effect", body = RangeView,
         example = crate::http::wire::examples::tsh_range_default),
        (status = 422, description = "`sex` is neither `female` nor `male`", body = crate::http::wire::common::ErrorBody,
         example = crate::http::wire::examples::bad_sex),
    )
)]
pub async fn delete_range(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SexQuery>,
) -> Result<HttpResponse, ApiError> {
    let sex = match query.sex.as_deref() {
        None => None,
        Some(s) => Some(Sex::parse(s).ok_or_else(|| {
            ApiError::validation(vec![FieldProblem::new(
                "sex",
                "must be \"female\" or \"male\"",
            )])
        })?),
    };
    state.services.delete_range(&auth.0, &path, sex).await?;
    let marker = catalog::find(&path).ok_or_else(|| ApiError::not_found("marker"))?;
    let overrides = state.services.ranges(&auth.0).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = marker.id, "range reset");
    Ok(HttpResponse::Ok().json(RangeView::new(
        marker,
        &effective_range(marker, sex, &overrides),
    )))
}
