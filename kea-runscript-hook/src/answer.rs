//! Applying the data of the sync scripts' answers to Kea: client classes to the query,
//! the DNS name and flags to `ddns*_update`'s arguments, a flexible identifier to
//! `host*_identifier`'s, an offered address in use to a parked `lease4_offer`. Where each
//! field means something is core's table (`Field::accepted_at`); fields elsewhere were
//! already left out and logged there.

use kea_hook::{Callout, Parked};
use kea_runscript_core::log::Severity;
use kea_runscript_core::AnswerData;

use crate::logging;

/// Applies `data` at the callout's hook point (nothing when it is empty).
pub fn apply(data: &AnswerData, callout: &mut Callout<'_>) -> Result<(), kea_hook::Error> {
    if data.is_empty() {
        return Ok(());
    }
    if !data.classes.is_empty() {
        callout.add_classes(&data.classes)?;
    }
    if data.hostname.is_some() || data.fwd_update.is_some() || data.rev_update.is_some() {
        callout.set_ddns(data.hostname.as_deref(), data.fwd_update, data.rev_update)?;
    }
    if let Some(id) = &data.flex_id {
        callout.set_flex_id(id)?;
    }
    if data.address_in_use.is_some() {
        // Kea reads it only when it resumes a parked query; not parked (no parking lot
        // here), there is nowhere to put it.
        logging::limited(Severity::Warn, logging::VERDICT_NOT_APPLICABLE, || {
            format!(
                "{}: address-in-use ignored, the query was not parked",
                callout.hook_point().name()
            )
        });
    }
    logging::limited(Severity::Debug, logging::ANSWER_APPLIED, || {
        format!("{}: answer applied: {data:?}", callout.hook_point().name())
    });
    Ok(())
}

/// Applies `data` to a parked query before it is resumed: an offered address in use
/// (`lease4_offer`) makes Kea decline it and not send the offer.
pub fn apply_parked(data: &AnswerData, parked: &Parked) -> Result<(), kea_hook::Error> {
    if let Some(in_use) = data.address_in_use {
        parked.set_offer_address_in_use(in_use)?;
    }
    Ok(())
}
