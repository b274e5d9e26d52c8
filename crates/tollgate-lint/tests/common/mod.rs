//! Shared by the integration tests: lint a project directory the way
//! `tollgate lint` does — load `tollgate.toml`, collect Python and Rust
//! statically, apply the config's rules, read pytest's registrations, lint.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tollgate_config::quarantine::Date;
use tollgate_config::Config;
use tollgate_inventory::Inventory;
use tollgate_lint::{lint, Finding, LintInput, PytestMarkers, QuarantineInput};

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    pub inventory: Inventory,
    pub pytest: Option<PytestMarkers>,
    pub quarantine: Option<QuarantineInput>,
}

/// The day quarantine expiry is judged on in these tests (fixed, so that
/// snapshots do not change with the calendar).
pub const TODAY: Date = Date {
    year: 2026,
    month: 6,
    day: 1,
};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The mistakes example, assembled in a fresh temporary directory by
/// `scripts/mistakes-example.sh` (the clean example with
/// `examples/monorepo-mistakes` laid over it): the one way it is built.
pub fn mistakes_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = workspace_root().join("scripts/mistakes-example.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The config at `root/tollgate.toml`, or else the fixtures' shared one.
fn load_config(root: &Path) -> Config {
    let own = root.join("tollgate.toml");
    let path = if own.is_file() {
        own
    } else {
        fixtures().join("tollgate.toml")
    };
    match Config::load(&path) {
        Ok(config) => config,
        Err(err) => panic!("{}", err.render()),
    }
}

pub fn collect(root: &Path) -> Project {
    let root = root.canonicalize().expect("project root exists");
    let config = load_config(&root);
    let mut inventory = Inventory::default();
    let mut pytest = None;

    let python_opts = tollgate_discover_python::CollectOptions {
        invocation_dir: root.clone(),
        rootdir: Some(root.clone()),
        ..Default::default()
    };
    let python = tollgate_discover_python::collect(&python_opts).expect("python collection");
    if let Some(ini) = &python.inifile {
        let file = ini
            .strip_prefix(&root)
            .unwrap_or(ini)
            .to_string_lossy()
            .replace('\\', "/");
        pytest = Some(PytestMarkers::read(
            &root,
            &file,
            python.strict_markers,
            &python.registered_markers,
        ));
    }
    inventory.extend(python.inventory);

    if root.join("Cargo.toml").is_file() {
        let rust_opts = tollgate_discover_rust::CollectOptions {
            paths: vec![root.clone()],
            features: tollgate_discover_rust::FeatureSelection {
                all_features: true,
                ..Default::default()
            },
        };
        let rust = tollgate_discover_rust::collect(&rust_opts).expect("rust collection");
        inventory.extend(rust.inventory);
    }
    config.apply_rules(&mut inventory);
    let quarantine = std::fs::read_to_string(root.join(&config.quarantine.file))
        .ok()
        .map(|text| {
            QuarantineInput::parse(&text, &config.quarantine.file, TODAY)
                .unwrap_or_else(|e| panic!("{e}"))
        });
    Project {
        root,
        config,
        inventory,
        pytest,
        quarantine,
    }
}

impl Project {
    pub fn lint(&self) -> Vec<Finding> {
        lint(&LintInput {
            config: &self.config,
            inventory: &self.inventory,
            pytest: self.pytest.as_ref(),
            root: &self.root,
            quarantine: self.quarantine.as_ref(),
        })
    }
}

pub fn lint_dir(root: &Path) -> Vec<Finding> {
    collect(root).lint()
}
