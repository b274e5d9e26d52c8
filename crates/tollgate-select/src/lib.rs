//! Which tests a pipeline's jobs select.
//!
//! A job selects a test when all of these hold:
//! 1. the job runs the test's language (`languages`, empty = both);
//! 2. the job's marker expression (`expr`, or the pipeline's override of it)
//!    matches the test — a job without an expression (lint, build) selects
//!    nothing;
//! 3. **lifecycle inheritance**: the test carries a lifecycle marker for the
//!    pipeline's stage or an earlier one (seed 003: "use the marker for the
//!    earliest pipeline stage where the test must run");
//! 4. the job's runner can host it: enough GPUs for its hardware markers and
//!    every `requires_runner` marker in `runner.provides`;
//! 5. for a Rust test, the job's cargo options build and run it: its required
//!    features are enabled and `#[ignore]` matches `cargo.ignored`.
//!
//! Aliases are followed everywhere: a test marked `premerge` is selected by a
//! job asking for `pre_merge` (lint still reports the spelling).
//!
//! [`Selector`] compiles a config once (expressions parsed, lookups hashed) so
//! that lint and the planner can ask about every test of a large inventory in
//! linear time; [`job_selects`] and [`pipeline_selects`] are one-shot
//! conveniences over it.

mod classes;
mod matcher;
mod verdict;

use std::collections::HashMap;

use tollgate_config::{CargoOptions, Config, IgnoredTests, Runner};
use tollgate_inventory::{Language, TestItem};
use tollgate_markexpr::Expression;

pub use crate::classes::{MarkerUse, SelectionClasses};
use crate::matcher::{AliasAwareMatcher, Spellings};
pub use crate::verdict::Verdict;

/// Whether `job`, as run by `pipeline`, selects `test`. False when either
/// name is unknown or the job is not part of the pipeline.
pub fn job_selects(config: &Config, pipeline: &str, job: &str, test: &TestItem) -> bool {
    Selector::new(config)
        .job_verdict(pipeline, job, test)
        .is_some_and(|v| v.is_selected())
}

/// Whether any job of `pipeline` selects `test`.
pub fn pipeline_selects(config: &Config, pipeline: &str, test: &TestItem) -> bool {
    Selector::new(config).pipeline_selects(pipeline, test)
}

/// Marker names to what the taxonomy says of them. Looked up for every
/// marker of every test: foldhash, not SipHash (the keys are the config's
/// marker names, nothing an attacker chooses to collide).
type NameMap<'c, V> = HashMap<&'c str, V, foldhash::fast::RandomState>;

/// A config compiled for selection: build once, ask for every test.
#[derive(Debug)]
pub struct Selector<'c> {
    spellings: Spellings<'c>,
    /// Canonical lifecycle marker → its stage index.
    stages: NameMap<'c, usize>,
    /// Marker → GPUs it needs (only markers that declare `gpus`).
    gpus: NameMap<'c, u32>,
    /// Markers of `requires_runner` categories.
    runner_markers: NameMap<'c, ()>,
    pipelines: Vec<CompiledPipeline<'c>>,
}

#[derive(Debug)]
struct CompiledPipeline<'c> {
    name: &'c str,
    /// `None` when the taxonomy has no lifecycle (no inheritance filter).
    /// `Some(None)` when the pipeline's stage is not a lifecycle marker
    /// (validation rejects that; such a pipeline selects nothing).
    stage: Option<Option<usize>>,
    jobs: Vec<CompiledJob<'c>>,
}

/// A job with the pipeline's overrides applied and its expression parsed.
#[derive(Debug)]
struct CompiledJob<'c> {
    name: &'c str,
    /// `None`: the job selects no tests. An expression that does not parse
    /// (only possible in a config that skipped validation) selects nothing.
    expr: Option<Expression>,
    languages: &'c [Language],
    runner: &'c Runner,
    cargo: &'c CargoOptions,
}

impl<'c> Selector<'c> {
    pub fn new(config: &'c Config) -> Self {
        let taxonomy = &config.taxonomy;
        let stages = taxonomy
            .lifecycle()
            .map(|(_, category)| {
                category
                    .markers
                    .keys()
                    .enumerate()
                    .map(|(index, name)| (name, index))
                    .collect()
            })
            .unwrap_or_default();
        let mut gpus = NameMap::default();
        let mut runner_markers = NameMap::default();
        for (_, category) in taxonomy.categories.iter() {
            for (name, def) in category.markers.iter() {
                if let Some(count) = def.gpus {
                    gpus.insert(name, count);
                }
                if category.requires_runner {
                    runner_markers.insert(name, ());
                }
            }
        }
        let has_lifecycle = taxonomy.lifecycle().is_some();
        let pipelines = config
            .pipelines
            .iter()
            .map(|(name, pipeline)| CompiledPipeline {
                name,
                stage: has_lifecycle.then(|| taxonomy.stage_index(&pipeline.stage)),
                jobs: pipeline
                    .jobs
                    .iter()
                    .filter_map(|job_name| {
                        let (job_name, job) = config.jobs.iter().find(|(n, _)| n == job_name)?;
                        let over = pipeline.overrides.get(job_name);
                        let expr_text =
                            over.and_then(|o| o.expr.as_deref()).or(job.expr.as_deref());
                        Some(CompiledJob {
                            name: job_name,
                            expr: expr_text.and_then(|text| Expression::parse(text).ok()),
                            languages: &job.languages,
                            runner: over.and_then(|o| o.runner.as_ref()).unwrap_or(&job.runner),
                            cargo: over.and_then(|o| o.cargo.as_ref()).unwrap_or(&job.cargo),
                        })
                    })
                    .collect(),
            })
            .collect();
        Selector {
            spellings: Spellings::new(taxonomy),
            stages,
            gpus,
            runner_markers,
            pipelines,
        }
    }

    /// Pipeline names in file order.
    pub fn pipelines(&self) -> impl Iterator<Item = &'c str> + '_ {
        self.pipelines.iter().map(|p| p.name)
    }

    /// Job names of `pipeline` in the order it lists them (unknown jobs left out).
    pub fn jobs(&self, pipeline: &str) -> Vec<&'c str> {
        self.pipeline(pipeline)
            .map(|p| p.jobs.iter().map(|j| j.name).collect())
            .unwrap_or_default()
    }

    fn pipeline(&self, name: &str) -> Option<&CompiledPipeline<'c>> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// Why `job` in `pipeline` does or does not select `test`; `None` when the
    /// pipeline is unknown or does not run that job.
    pub fn job_verdict(&self, pipeline: &str, job: &str, test: &TestItem) -> Option<Verdict> {
        let pipeline = self.pipeline(pipeline)?;
        let job = pipeline.jobs.iter().find(|j| j.name == job)?;
        Some(self.verdict(pipeline, job, test))
    }

    pub fn pipeline_selects(&self, pipeline: &str, test: &TestItem) -> bool {
        self.pipeline(pipeline).is_some_and(|p| {
            p.jobs
                .iter()
                .any(|job| self.verdict(p, job, test).is_selected())
        })
    }

    /// Which markers this selector's verdicts read: every `-m` term of every
    /// job of every pipeline (by name; with keyword arguments when the term
    /// compares them), every lifecycle stage, every marker that needs GPUs
    /// or a runner. Tests that differ only in other markers get the same
    /// verdicts (see [`SelectionClasses`]).
    pub fn marker_relevance(&self) -> MarkerRelevance<'_, 'c> {
        let mut relevance = MarkerRelevance {
            spellings: &self.spellings,
            read: HashMap::default(),
        };
        for job in self.pipelines.iter().flat_map(|p| &p.jobs) {
            for (name, kwargs) in job.expr.iter().flat_map(Expression::mark_terms) {
                relevance.read_as(
                    name,
                    if kwargs {
                        MarkerUse::NameAndKwargs
                    } else {
                        MarkerUse::Name
                    },
                );
            }
        }
        let by_name = self
            .stages
            .keys()
            .chain(self.gpus.keys())
            .chain(self.runner_markers.keys());
        for name in by_name {
            relevance.read_as(name, MarkerUse::Name);
        }
        relevance
    }

    /// Whether `pipeline`'s lifecycle stage covers `test` (its earliest
    /// lifecycle marker is that stage or an earlier one); every test when the
    /// taxonomy has no lifecycle. False for an unknown pipeline.
    pub fn stage_covers(&self, pipeline: &str, test: &TestItem) -> bool {
        let Some(pipeline) = self.pipeline(pipeline) else {
            return false;
        };
        match pipeline.stage {
            None => true,
            Some(None) => false,
            Some(Some(stage)) => self.earliest_stage(test).is_some_and(|e| e <= stage),
        }
    }

    /// Whether some job of some pipeline selects `test`.
    pub fn any_pipeline_selects(&self, test: &TestItem) -> bool {
        self.pipelines.iter().any(|p| {
            p.jobs
                .iter()
                .any(|job| self.verdict(p, job, test).is_selected())
        })
    }

    fn verdict(
        &self,
        pipeline: &CompiledPipeline<'c>,
        job: &CompiledJob<'c>,
        test: &TestItem,
    ) -> Verdict {
        if !job.languages.is_empty() && !job.languages.contains(&test.language) {
            return Verdict::OtherLanguage;
        }
        let Some(expr) = &job.expr else {
            return Verdict::NoExpression;
        };
        let matcher = AliasAwareMatcher::new(&self.spellings, test);
        if !expr.evaluate(&matcher) {
            return Verdict::ExpressionFalse;
        }
        if let Some(stage) = pipeline.stage {
            let Some(stage) = stage else {
                return Verdict::UnknownStage;
            };
            match self.earliest_stage(test) {
                None => return Verdict::NoLifecycle,
                Some(earliest) if earliest > stage => return Verdict::LaterLifecycle,
                Some(_) => {}
            }
        }
        if let Some(lack) = self.runner_lack(job.runner, test) {
            return lack;
        }
        if let Some(facts) = &test.rust {
            let missing: Vec<String> = facts
                .required_features
                .iter()
                .filter(|f| {
                    let by_default =
                        !job.cargo.no_default_features && facts.default_enabled.contains(f);
                    !by_default && !feature_enabled(job.cargo, &facts.package, f)
                })
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Verdict::FeaturesOff(missing);
            }
            let ignored = facts.ignored.is_some();
            match job.cargo.ignored {
                IgnoredTests::Exclude if ignored => return Verdict::IgnoredExcluded,
                IgnoredTests::Only if !ignored => return Verdict::NotIgnored,
                _ => {}
            }
        }
        Verdict::Selected
    }

    /// The earliest lifecycle stage among the test's markers.
    fn earliest_stage(&self, test: &TestItem) -> Option<usize> {
        test.markers
            .iter()
            .filter_map(|m| self.stages.get(self.spellings.canonical(&m.name)).copied())
            .min()
    }

    fn runner_lack(&self, runner: &Runner, test: &TestItem) -> Option<Verdict> {
        for marker in &test.markers {
            let name = self.spellings.canonical(&marker.name);
            if let Some(&needed) = self.gpus.get(name) {
                if needed > runner.gpus {
                    return Some(Verdict::NotEnoughGpus {
                        needed,
                        offered: runner.gpus,
                    });
                }
            }
            if self.runner_markers.contains_key(name) && !runner.provides.iter().any(|p| p == name)
            {
                return Some(Verdict::RunnerLacks(name.to_string()));
            }
        }
        None
    }
}

/// Which markers selection reads, by canonical name: see
/// [`Selector::marker_relevance`]. Callers that read more of a test (the
/// planner's framework markers, say) add those names with
/// [`MarkerRelevance::read_as`].
#[derive(Debug)]
pub struct MarkerRelevance<'s, 'c> {
    spellings: &'s Spellings<'c>,
    read: HashMap<String, MarkerUse, foldhash::fast::RandomState>,
}

impl MarkerRelevance<'_, '_> {
    /// Records that `name` (any spelling) is read as `how`; the most read of
    /// several records wins.
    pub fn read_as(&mut self, name: &str, how: MarkerUse) {
        let canonical = self.spellings.canonical(name);
        let spellings =
            std::iter::once(canonical).chain(self.spellings.aliases_of(canonical).iter().copied());
        // Every spelling is a key: `use_of` is one lookup per marker.
        for spelling in spellings {
            let slot = self
                .read
                .entry(spelling.to_string())
                .or_insert(MarkerUse::Ignored);
            if how == MarkerUse::NameAndKwargs || *slot == MarkerUse::Ignored {
                *slot = how;
            }
        }
    }

    /// How much of a marker called `name` (any spelling) is read.
    pub fn use_of(&self, name: &str) -> MarkerUse {
        self.read.get(name).copied().unwrap_or(MarkerUse::Ignored)
    }
}

/// Whether `cargo` enables `feature` of `package` (`--features f` or
/// `--features package/f`, or `--all-features`).
fn feature_enabled(cargo: &CargoOptions, package: &str, feature: &str) -> bool {
    cargo.all_features
        || cargo.features.iter().any(|f| {
            f == feature
                || f.split_once('/')
                    .is_some_and(|(pkg, feat)| pkg == package && feat == feature)
        })
}

#[cfg(test)]
mod tests;
