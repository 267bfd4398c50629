//! Sections other modules add to the report, rendered after the built-in ones and before the
//! models. The hook for the Campaigns section (`src/report/campaigns.rs`): push an
//! [`ExtraSection`] onto [`super::analysis::Report::extra_sections`] before rendering.

/// A finished section in each output the report has.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExtraSection {
    /// Anchor of the HTML section (`campaigns`).
    pub id: String,
    pub title: String,
    /// Inner HTML (escaped by its author), placed under the section's heading.
    pub html: String,
    pub markdown: String,
    pub text: String,
}
