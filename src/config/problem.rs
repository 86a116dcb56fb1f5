//! Problems found while loading configuration: what `check` prints.
//!
//! Every problem names the file, and where it can, the line and the key, so an admin
//! can go straight to it. Loading never stops at the first problem.

use std::fmt;
use std::path::{Path, PathBuf};

/// Whether a problem stops the configuration from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Loads, but probably not what the admin meant.
    Warning,
    /// Does not load.
    Error,
}

/// One thing wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key path, such as `inbound.lmtp` or `rule[2].domain`, when there is one.
    pub key: Option<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{word}: {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything found so far, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records an error.
    pub fn error(
        &mut self,
        file: &Path,
        line: Option<usize>,
        key: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, file, line, key, message.into());
    }

    /// Records a warning.
    pub fn warn(
        &mut self,
        file: &Path,
        line: Option<usize>,
        key: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, file, line, key, message.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        file: &Path,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    ) {
        self.list.push(Problem {
            severity,
            file: file.to_owned(),
            line,
            key,
            message,
        });
    }

    /// Adds one problem.
    pub fn add(&mut self, problem: Problem) {
        self.list.push(problem);
    }

    /// Adds another collection's problems.
    pub fn extend(&mut self, other: Problems) {
        self.list.extend(other.list);
    }

    /// True when any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    /// All problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.list.iter()
    }

    /// Every problem on one line, `; ` between them: for a log line, which a
    /// journal shows whole only when it is one line.
    pub fn one_line(&self) -> String {
        self.list
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.list.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
