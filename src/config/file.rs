//! Reading one TOML file into a raw struct, keeping enough to point at lines later.
//!
//! Each file is parsed twice: by `toml_edit`, which keeps the byte span of every key
//! and value (so any problem found later can name its line), and by `toml` through
//! serde, which fills the raw struct. Unknown keys are collected, all of them, by
//! `serde_ignored`; a type error names its key through `serde_path_to_error`.

use super::problem::Problems;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use toml_edit::{Item, Value};

/// One step in a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// A 0-based array index.
    Index(usize),
}

/// A key path such as `rule[2].domain` (indices are shown 1-based, as admins count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Seg>);

impl KeyPath {
    /// A path of table keys.
    pub(crate) fn keys(keys: &[&str]) -> Self {
        Self(keys.iter().map(|k| Seg::Key((*k).to_owned())).collect())
    }

    /// This path with an index appended.
    pub(crate) fn at(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    /// This path with a key appended.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{}]", n + 1)?,
            }
        }
        Ok(())
    }
}

/// A parsed file that can say on which line a key stands.
pub(crate) struct TomlFile {
    pub(crate) path: PathBuf,
    text: String,
    doc: toml_edit::Document<String>,
}

impl TomlFile {
    /// The 1-based line of the key path, or of its nearest present parent.
    pub(crate) fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let mut best = None;
        let mut item: Option<Located<'_>> = Some(Located::Item(self.doc.as_item()));
        for seg in &path.0 {
            let next = item.and_then(|it| it.child(seg));
            if let Some(span) = next.as_ref().and_then(Located::span) {
                best = Some(span.start);
            }
            item = next;
        }
        best.map(|offset| line_at(&self.text, offset))
    }

    /// Records an error at a key path.
    pub(crate) fn error(
        &self,
        problems: &mut Problems,
        path: &KeyPath,
        message: impl Into<String>,
    ) {
        problems.error(
            &self.path,
            self.line_of(path),
            Some(path.to_string()),
            message,
        );
    }

    /// Records a warning at a key path.
    pub(crate) fn warn(&self, problems: &mut Problems, path: &KeyPath, message: impl Into<String>) {
        problems.warn(
            &self.path,
            self.line_of(path),
            Some(path.to_string()),
            message,
        );
    }

    /// The directory of this file, against which its relative paths resolve.
    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Resolves a path written in this file.
    pub(crate) fn resolve(&self, written: &str) -> PathBuf {
        let p = Path::new(written);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.dir().join(p)
        }
    }
}

/// A node of the document, whichever kind it is.
#[derive(Clone, Copy)]
enum Located<'a> {
    Item(&'a Item),
    Value(&'a Value),
    Table(&'a toml_edit::Table),
}

impl<'a> Located<'a> {
    fn child(self, seg: &Seg) -> Option<Located<'a>> {
        match (self, seg) {
            (Located::Item(Item::Table(t)), Seg::Key(k)) | (Located::Table(t), Seg::Key(k)) => {
                t.get(k).map(Located::Item)
            }
            (Located::Item(Item::Value(v)), _) | (Located::Value(v), _) => match (v, seg) {
                (Value::InlineTable(t), Seg::Key(k)) => t.get(k).map(Located::Value),
                (Value::Array(a), Seg::Index(i)) => a.get(*i).map(Located::Value),
                _ => None,
            },
            (Located::Item(Item::ArrayOfTables(a)), Seg::Index(i)) => a.get(*i).map(Located::Table),
            _ => None,
        }
    }

    fn span(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Located::Item(i) => i.span(),
            Located::Value(v) => v.span(),
            Located::Table(t) => t.span(),
        }
    }
}

/// The 1-based line holding a byte offset.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Reads `path` into `T`, recording every problem. `None` when the file is unusable.
pub(crate) fn read<T: DeserializeOwned>(
    path: &Path,
    problems: &mut Problems,
) -> Option<(T, TomlFile)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.error(path, None, None, format!("cannot read the file: {e}"));
            return None;
        }
    };
    let doc = match toml_edit::Document::parse(text.clone()) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| line_at(&text, s.start));
            problems.error(
                path,
                line,
                None,
                format!("not valid TOML: {}", e.message().trim()),
            );
            return None;
        }
    };
    let file = TomlFile {
        path: path.to_owned(),
        text,
        doc,
    };
    let value = deserialize::<T>(&file, problems)?;
    Some((value, file))
}

/// Fills `T` from the file through serde, recording every unknown key and the
/// first type error. `None` when `T` could not be filled.
fn deserialize<T: DeserializeOwned>(file: &TomlFile, problems: &mut Problems) -> Option<T> {
    let de = match toml::Deserializer::parse(&file.text) {
        Ok(de) => de,
        Err(e) => {
            let line = e.span().map(|s| line_at(&file.text, s.start));
            problems.error(
                &file.path,
                line,
                None,
                format!("not valid TOML: {}", e.message().trim()),
            );
            return None;
        }
    };
    let mut unknown = Vec::new();
    let mut collect = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
    let ignoring = serde_ignored::Deserializer::new(de, &mut collect);
    let result: Result<T, _> = serde_path_to_error::deserialize(ignoring);
    for path in &unknown {
        let name = match path.0.last() {
            Some(Seg::Key(k)) => k.clone(),
            _ => path.to_string(),
        };
        file.error(
            problems,
            path,
            format!("unknown key `{name}`: remove it or check its spelling"),
        );
    }
    result.map_err(|e| type_error(file, problems, &e)).ok()
}

/// Records a value serde could not take (or a key it missed), at its key path.
fn type_error(
    file: &TomlFile,
    problems: &mut Problems,
    e: &serde_path_to_error::Error<toml::de::Error>,
) {
    let path = KeyPath(
        e.path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                _ => None,
            })
            .collect(),
    );
    let message = e.inner().message().trim().to_owned();
    // A missing key has no line of its own: name it, and its table's line.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let (line, path) = match missing {
        Some(field) => {
            let line = (!path.0.is_empty()).then(|| file.line_of(&path)).flatten();
            (line, path.key(field))
        }
        None => {
            let line = file
                .line_of(&path)
                .or_else(|| e.inner().span().map(|s| line_at(&file.text, s.start)));
            (line, path)
        }
    };
    let key = (!path.0.is_empty()).then(|| path.to_string());
    problems.error(&file.path, line, key, message);
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> KeyPath {
    let mut segs = Vec::new();
    let mut cur = p;
    loop {
        match cur {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                segs.push(Seg::Index(*index));
                cur = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                segs.push(Seg::Key(key.clone()));
                cur = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => cur = parent,
        }
    }
    segs.reverse();
    KeyPath(segs)
}
