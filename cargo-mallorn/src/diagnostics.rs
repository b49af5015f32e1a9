//! Rendering Mallorn.toml diagnostics: miette reports with source snippets for people, a JSON
//! array for tools (`--message-format json`).

use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};

use mallorn_manifest::{Diagnostic, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
use serde::Serialize;

/// How human output looks: decided once from the terminal, fixed in tests.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
}

impl Style {
    /// Colour only on a terminal and without `NO_COLOR`; width from `COLUMNS`, else 100, so
    /// piped output (and snapshots) never depend on the terminal.
    pub fn for_stderr() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.parse().ok())
            .filter(|&columns| terminal && columns >= 40)
            .unwrap_or(100);
        Self {
            color: terminal && !no_color,
            width,
        }
    }

    /// The miette handler for this style.
    pub fn handler(self) -> GraphicalReportHandler {
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        GraphicalReportHandler::new_themed(theme)
            .with_width(self.width)
            .with_links(false)
    }
}

/// Renders one diagnostic of the file `name` (as displayed) whose content is `text`.
pub fn render_human(diagnostic: &Diagnostic, name: &str, text: &str, style: Style) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        diagnostic.label.clone(),
        Into::<std::ops::Range<usize>>::into(diagnostic.span),
    )];
    labels.extend(diagnostic.related.iter().map(|related| {
        LabeledSpan::new_with_span(
            Some(related.label.clone()),
            Into::<std::ops::Range<usize>>::into(related.span),
        )
    }));
    let mut report = MietteDiagnostic::new(diagnostic.message.clone())
        .with_code(format!("mallorn::{}", diagnostic.code))
        .with_severity(severity)
        .with_labels(labels);
    if let Some(hint) = &diagnostic.hint {
        report = report.with_help(hint.clone());
    }
    let report =
        miette::Report::new(report).with_source_code(NamedSource::new(name, text.to_owned()));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = style.handler().render_report(&mut out, report.as_ref());
    out
}

/// The JSON form of one diagnostic: file, 1-based line/column (start and end), message, hint.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    label: &'a Option<String>,
    hint: &'a Option<String>,
    related: Vec<JsonRelated<'a>>,
}

/// A place a diagnostic points to besides its own span.
#[derive(Serialize)]
struct JsonRelated<'a> {
    line: usize,
    column: usize,
    label: &'a str,
}

/// [`JsonDiagnostic`] of `diagnostic` in the file `name` whose text is `text`.
pub fn to_json<'a>(diagnostic: &'a Diagnostic, name: &'a str, text: &str) -> JsonDiagnostic<'a> {
    let start = diagnostic.span.line_col(text);
    let end = diagnostic.span.end_line_col(text);
    let related = diagnostic
        .related
        .iter()
        .map(|related| {
            let at = related.span.line_col(text);
            JsonRelated {
                line: at.line,
                column: at.column,
                label: &related.label,
            }
        })
        .collect();
    JsonDiagnostic {
        severity: diagnostic.severity.as_str(),
        code: diagnostic.code,
        file: name,
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        message: &diagnostic.message,
        label: &diagnostic.label,
        hint: &diagnostic.hint,
        related,
    }
}

/// `path` as shown to the user: relative to the current directory when that is shorter.
pub fn display_path(path: &Path) -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return path.display().to_string();
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    relative_to(&absolute, &cwd)
        .map_or_else(|| path.display().to_string(), |p| p.display().to_string())
}

/// `path` relative to `base` (both absolute), climbing with `..` where needed.
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for component in &path[common..] {
        relative.push(component);
    }
    Some(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_with_dotdot() {
        let rel = |p: &str, b: &str| relative_to(Path::new(p), Path::new(b)).unwrap();
        assert_eq!(
            rel("/w/p/Mallorn.toml", "/w/p"),
            PathBuf::from("Mallorn.toml")
        );
        assert_eq!(
            rel("/w/Mallorn.toml", "/w/p/src"),
            PathBuf::from("../../Mallorn.toml")
        );
    }
}
