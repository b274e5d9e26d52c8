//! The pure core: a pipeline, a config, an inventory, resolved variables and
//! (optionally) the analysed changes in; a [`Plan`] out.
//!
//! For each job the pipeline lists (with the pipeline's overrides applied):
//! 1. a `when` condition over the trigger variables that does not hold drops it;
//! 2. `framework = "each"` makes one instance per framework (and, for a test
//!    job, a `[common]` instance for framework-free tests); `"selected"` runs
//!    the framework under test;
//! 3. a docs-only change keeps only the lint job;
//! 4. a test job selects what [`tollgate_select`] says (expression, lifecycle
//!    inheritance, runner, cargo features), narrowed by the framework filter
//!    and by the changed files; tests the expression wants but the runner
//!    cannot host are reported as unrunnable;
//! 5. a job left with nothing to run is dropped, with the reason.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;

use tollgate_config::{
    Config, DefaultFramework, FrameworkMode, FrameworkRule, HistoryDefault, Job, MultiFramework,
    Pipeline, VarValue,
};
use tollgate_inventory::{Inventory, Language, MarkSource, TestItem};
use tollgate_markexpr::{CompiledExpression, Expression, TermTable};
use tollgate_select::{MarkerRelevance, MarkerUse, SelectionClasses, Selector, Verdict};

use crate::changes::{ChangeAnalysis, ChangeScope};
use crate::commands::{self, CommandContext};
use crate::error::{closest, PlanError};
use crate::model::{
    ArgsFile, DroppedJob, Plan, PlannedJob, RunnerNeeds, Shard, UncoveredTest, UnrunnableTest,
};
use crate::pytest_expr::{self, FrameworkFilter, Spellings};
use crate::shards::{self, ShardItem};
use crate::vars::{VarSource, Variables};

/// Everything a plan is made from. `inventory` must have the config's rules
/// applied ([`Config::apply_rules`]).
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub inventory: &'a Inventory,
    pub pipeline: &'a str,
    pub variables: &'a Variables,
    /// The analysed changes ([`crate::analyze`]); `None` runs everything.
    pub changes: Option<&'a ChangeAnalysis>,
    /// Recorded mean duration of tests, in seconds, by test id (the history
    /// store's passing attempts): shards are balanced by it ([`crate::shards`]).
    /// `None`, or no entry for any of a job's tests, balances by test count.
    pub durations: Option<&'a HashMap<String, f64>>,
    /// Split every job that runs tests into this many shards, whatever
    /// `shards` its `[jobs.NAME]` table or the pipeline's overrides say
    /// (`tollgate plan --shards N`, `tollgate run --shard K/N`). 1 turns
    /// sharding off.
    pub shards: Option<u32>,
    /// Flake rate by test id of the tests that flaked over the history
    /// window (the history store's flaky analytics): a `default_framework =
    /// { prefer = [...] }` skips a framework whose tests flaked too often.
    /// `None`: no history; the first preferred framework is the default.
    pub flaky: Option<&'a HashMap<String, f64>>,
}

/// Where `pytest @file` node-id files go, relative to the project root.
pub const ARGS_DIR: &str = ".tollgate/plan";

/// Makes the plan for `input.pipeline`.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let ctx = Context::new(input)?;
    Ok(ctx.plan())
}

/// One job of the pipeline as it runs here: overrides applied, framework fixed.
#[derive(Debug, Clone)]
pub(crate) struct Instance<'c> {
    pub name: String,
    pub job_name: &'c str,
    pub job: &'c Job,
    pub framework: Option<String>,
    pub filter: FrameworkFilter,
    /// `multi_framework = "one"`: the frameworks of the sibling instances,
    /// in order; a test of several runs only in its first one's instance.
    pub one_of: Option<Vec<String>>,
}

/// What one job instance does with one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Selected,
    /// The expression selects it, but the runner cannot host it.
    Unrunnable(String),
    /// Not selected, with the first reason.
    Rejected(Rejection),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    Selection(Verdict),
    Framework(String),
    NotAffected,
}

pub(crate) struct Context<'a> {
    pub input: &'a PlanInput<'a>,
    pub pipeline: &'a Pipeline,
    pub selector: Selector<'a>,
    pub variables: Variables,
    pub framework: Option<String>,
    pub framework_source: Option<&'static str>,
    /// Why history moved the default framework, when it did.
    framework_note: Option<String>,
    /// When the pipeline tests several frameworks (`frameworks = "all"` or a
    /// list): those frameworks; its `framework = "selected"` jobs run once
    /// per framework, plus a `[common]` instance for framework-free tests.
    pub expanded: Option<Vec<String>>,
    /// Canonical framework markers → framework name.
    framework_markers: HashMap<String, String>,
    spellings: Spellings,
    stages: Option<Vec<&'a str>>,
    lint_stage: Option<u32>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(input: &'a PlanInput<'a>) -> Result<Context<'a>, PlanError> {
        let config = input.config;
        let pipeline = find_pipeline(config, input.pipeline)?;
        let mut variables = input.variables.clone();
        let explicit_framework = config
            .changes
            .framework_variable
            .as_deref()
            .and_then(|var| variables.resolved(var))
            .is_some_and(|r| matches!(r.source, VarSource::Flag | VarSource::Environment));
        let expanded = if config.frameworks.is_empty() || explicit_framework {
            None
        } else {
            match pipeline.framework_rule() {
                FrameworkRule::ChangedOrDefault => None,
                FrameworkRule::All => Some(config.frameworks.keys().map(str::to_string).collect()),
                FrameworkRule::List(names) => Some(names),
            }
        };
        let (framework, framework_source, framework_note) = if expanded.is_some() {
            (None, Some("pipeline"), None)
        } else {
            choose_framework(input, pipeline, &variables)
        };
        if let (Some(fw), Some(var)) = (&framework, &config.changes.framework_variable) {
            let explicit = variables
                .resolved(var)
                .is_some_and(|r| matches!(r.source, VarSource::Flag | VarSource::Environment));
            if !explicit {
                variables.set(var, VarValue::Str(fw.clone()), VarSource::Changes);
            }
        }
        let framework_markers = config
            .frameworks
            .iter()
            .map(|(name, fw)| {
                (
                    config.taxonomy.canonical(fw.marker_or(name)).to_string(),
                    name.to_string(),
                )
            })
            .collect();
        let stages = config.taxonomy.stages_up_to(&pipeline.stage);
        let lint_stage = pipeline
            .jobs
            .iter()
            .filter_map(|name| config.jobs.get(name))
            .map(|job| job.stage)
            .min();
        Ok(Context {
            input,
            pipeline,
            selector: Selector::new(config),
            variables,
            framework,
            framework_source,
            framework_note,
            expanded,
            framework_markers,
            spellings: Spellings::new(&config.taxonomy),
            stages,
            lint_stage,
        })
    }

    fn config(&self) -> &'a Config {
        self.input.config
    }

    fn change_aware(&self) -> Option<&'a ChangeAnalysis> {
        self.input.changes.filter(|_| self.pipeline.change_aware)
    }

    /// The pipeline's jobs as they run: `each` expanded per framework.
    pub(crate) fn instances(&self) -> Vec<Instance<'a>> {
        let config = self.config();
        let all_markers: Vec<String> = config
            .frameworks
            .iter()
            .map(|(name, fw)| fw.marker_or(name).to_string())
            .collect();
        let mut out = Vec::new();
        for job_name in &self.pipeline.jobs {
            let Some((job_name, job)) = config.jobs.iter().find(|(n, _)| n == job_name) else {
                continue;
            };
            match job.framework {
                FrameworkMode::Any => out.push(Instance {
                    name: job_name.to_string(),
                    job_name,
                    job,
                    framework: None,
                    filter: FrameworkFilter::Any,
                    one_of: None,
                }),
                FrameworkMode::Selected if self.expanded.is_some() => {
                    let names = self.expanded.as_deref().unwrap_or_default();
                    self.push_per_framework(&mut out, job_name, job, names, &all_markers);
                }
                FrameworkMode::Selected => {
                    let filter = match &self.framework {
                        Some(fw) => {
                            let marker = config
                                .frameworks
                                .get(fw)
                                .map_or(fw.as_str(), |f| f.marker_or(fw));
                            FrameworkFilter::Selected {
                                marker: marker.to_string(),
                                others: all_markers
                                    .iter()
                                    .filter(|m| *m != marker)
                                    .cloned()
                                    .collect(),
                            }
                        }
                        None => FrameworkFilter::Any,
                    };
                    out.push(Instance {
                        name: job_name.to_string(),
                        job_name,
                        job,
                        framework: self.framework.clone(),
                        filter,
                        one_of: None,
                    });
                }
                FrameworkMode::Each => {
                    let names: Vec<String> = config.frameworks.keys().map(str::to_string).collect();
                    self.push_per_framework(&mut out, job_name, job, &names, &all_markers);
                }
            }
        }
        out
    }

    /// One instance of `job` per framework of `names`, and (for a test job)
    /// a `[common]` one for framework-free tests.
    fn push_per_framework(
        &self,
        out: &mut Vec<Instance<'a>>,
        job_name: &'a str,
        job: &'a Job,
        names: &[String],
        all_markers: &[String],
    ) {
        let config = self.config();
        for fw_name in names {
            let marker = config
                .frameworks
                .get(fw_name)
                .map_or(fw_name.as_str(), |fw| fw.marker_or(fw_name));
            out.push(Instance {
                name: format!("{job_name}[{fw_name}]"),
                job_name,
                job,
                framework: Some(fw_name.clone()),
                filter: FrameworkFilter::Only {
                    marker: marker.to_string(),
                },
                one_of: (self.pipeline.multi_framework == MultiFramework::One)
                    .then(|| names.to_vec()),
            });
        }
        if self.job_expr(job_name, job).is_some() || config.frameworks.is_empty() {
            out.push(Instance {
                name: if config.frameworks.is_empty() {
                    job_name.to_string()
                } else {
                    format!("{job_name}[common]")
                },
                job_name,
                job,
                framework: None,
                filter: if config.frameworks.is_empty() {
                    FrameworkFilter::Any
                } else {
                    FrameworkFilter::Free {
                        all: all_markers.to_vec(),
                    }
                },
                one_of: None,
            });
        }
    }

    pub(crate) fn job_expr(&self, job_name: &str, job: &'a Job) -> Option<&'a str> {
        self.pipeline
            .overrides
            .get(job_name)
            .and_then(|o| o.expr.as_deref())
            .or(job.expr.as_deref())
    }

    /// Why a job instance is not run at all, before looking at tests.
    pub(crate) fn job_skipped(&self, inst: &Instance<'a>) -> Option<String> {
        if let Some(when) = &inst.job.when {
            if !self.variables.condition_holds(when) {
                return Some(format!("its condition `{when}` is false"));
            }
        }
        if let Some(ChangeScope::LintOnly { reason }) = self.change_aware().map(|c| &c.scope) {
            if !self.is_lint_job(inst) {
                return Some(format!("{reason}: lint only"));
            }
        }
        None
    }

    /// The lint job: selects no tests, is not framework-specific, and runs in
    /// the pipeline's first stage. (The config has no job kind; this is the
    /// shape seed 004's lint job has.)
    fn is_lint_job(&self, inst: &Instance<'a>) -> bool {
        self.job_expr(inst.job_name, inst.job).is_none()
            && inst.job.framework == FrameworkMode::Any
            && Some(inst.job.stage) == self.lint_stage
    }

    /// The frameworks a test belongs to (by marker), each once.
    pub(crate) fn frameworks_of(&self, test: &TestItem) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        for m in &test.markers {
            if let Some(fw) = self
                .framework_markers
                .get(self.config().taxonomy.canonical(&m.name))
            {
                if !found.contains(&fw.as_str()) {
                    found.push(fw);
                }
            }
        }
        found
    }

    /// Which markers the plan reads of a test: the selector's (expressions,
    /// stages, runners) and the framework markers (job instances and the
    /// `-m` filters built for them).
    fn marker_relevance(&self) -> MarkerRelevance<'_, 'a> {
        let mut relevance = self.selector.marker_relevance();
        for name in self.framework_markers.keys() {
            relevance.read_as(name, MarkerUse::Name);
        }
        for name in self.stages.iter().flatten() {
            relevance.read_as(name, MarkerUse::Name);
        }
        relevance
    }

    /// What `inst` does with `test`; `frameworks` is [`Context::frameworks_of`]
    /// the test (computed once per test by the planner).
    pub(crate) fn outcome(
        &self,
        inst: &Instance<'a>,
        test: &TestItem,
        frameworks: &[&str],
    ) -> Outcome {
        let verdict = self
            .selector
            .job_verdict(self.input.pipeline, inst.job_name, test);
        self.outcome_given(inst, verdict.as_ref(), test, frameworks)
    }

    /// [`Context::outcome`] with the selector's verdict for the instance's
    /// job already known (`None`: the job is not the pipeline's).
    fn outcome_given(
        &self,
        inst: &Instance<'a>,
        verdict: Option<&Verdict>,
        test: &TestItem,
        frameworks: &[&str],
    ) -> Outcome {
        let Some(verdict) = verdict else {
            return Outcome::Rejected(Rejection::Selection(Verdict::NoExpression));
        };
        let unrunnable = match verdict {
            Verdict::Selected => None,
            Verdict::NotEnoughGpus { .. } | Verdict::RunnerLacks(_) => Some(verdict.to_string()),
            _ => return Outcome::Rejected(Rejection::Selection(verdict.clone())),
        };
        if let Some(reason) = framework_rejects(inst, frameworks) {
            return Outcome::Rejected(Rejection::Framework(reason));
        }
        if let Some(changes) = self.change_aware() {
            if matches!(changes.scope, ChangeScope::Affected { .. })
                && changes.affected_reason(&test.id).is_none()
            {
                return Outcome::Rejected(Rejection::NotAffected);
            }
        }
        match unrunnable {
            Some(reason) => Outcome::Unrunnable(reason),
            None => Outcome::Selected,
        }
    }

    fn plan(&self) -> Plan {
        let config = self.config();
        let inventory = self.input.inventory;
        let mut jobs: Vec<PlannedJob> = Vec::new();
        let mut dropped = Vec::new();
        let mut unrunnable = Vec::new();
        let mut args_files = Vec::new();
        let mut notes = Vec::new();
        if let Some(note) = &self.framework_note {
            notes.push(note.clone());
        }

        if let Some(changes) = self.input.changes {
            if !self.pipeline.change_aware {
                notes.push(format!(
                    "pipeline `{}` is not change-aware: the changed files do not narrow it",
                    self.input.pipeline
                ));
            } else if !changes.unclaimed.is_empty() {
                notes.push(format!(
                    "no rule claims these changed files, so the run widens to everything: {}",
                    changes.unclaimed.join(", ")
                ));
            }
        }
        // Tests that selection cannot tell apart are judged once per class
        // (see `SelectionClasses`): each class's frameworks, verdicts and
        // lifecycle coverage, and pytest's view of it, are computed once and
        // looked up per test. Then every test job's selection, in parallel.
        let tests = &inventory.tests;
        let relevance = self.marker_relevance();
        let (classes, pytest_views) = rayon::join(
            || SelectionClasses::new(tests, |m| relevance.use_of(&m.name)),
            || PytestViews::new(tests, &relevance),
        );
        let instances = self.instances();
        let facts = ClassFacts::new(self, &classes, &instances);
        // A job's verdicts do not depend on the framework instance: compute
        // each job's candidates once (`each` jobs have up to four instances).
        let mut test_jobs: Vec<(&str, &str)> = Vec::new();
        for inst in &instances {
            if let Some(expr) = self.job_expr(inst.job_name, inst.job) {
                if self.job_skipped(inst).is_none()
                    && !test_jobs.iter().any(|(name, _)| *name == inst.job_name)
                {
                    test_jobs.push((inst.job_name, expr));
                }
            }
        }
        let candidates: HashMap<&str, Vec<Candidate>> = test_jobs
            .par_iter()
            .map(|(name, _)| (*name, self.candidates(name, &facts)))
            .collect();
        // Each instance's pytest `-m`, compiled against one table of terms,
        // and every pytest class's answers to those terms: checking that a
        // `-m` selects exactly the planned tests then asks each term of each
        // class once, not once per instance.
        let mut terms = TermTable::default();
        let markexprs: Vec<Option<MarkExpr>> = instances
            .iter()
            .map(|inst| {
                let (_, expr) = test_jobs.iter().find(|(name, _)| *name == inst.job_name)?;
                let (text, parsed) = self.markexpr_text(inst, expr)?;
                Some(MarkExpr {
                    compiled: terms.compile(&parsed),
                    text,
                })
            })
            .collect();
        let answers: Vec<Vec<bool>> = pytest_views
            .views
            .par_iter()
            .map(|view| terms.answers(view.as_ref()))
            .collect();
        let selections: Vec<Option<Selection>> = instances
            .par_iter()
            .zip(&markexprs)
            .map(|(inst, markexpr)| {
                // Only test jobs have candidates.
                let candidates = candidates.get(inst.job_name)?;
                Some(
                    self.select(
                        inst,
                        candidates,
                        &facts,
                        markexpr
                            .as_ref()
                            .map(|m| (m, &pytest_views, answers.as_slice())),
                    ),
                )
            })
            .collect();

        let all_instances = instances.clone();
        let universe = crate::filterset::RustUniverse::new(&inventory.tests);
        for (inst, selection) in instances.into_iter().zip(selections) {
            if let Some(reason) = self.job_skipped(&inst) {
                dropped.push(DroppedJob {
                    name: inst.name.clone(),
                    reason,
                });
                continue;
            }
            let over = self.pipeline.overrides.get(inst.job_name);
            let job = inst.job;
            let runner = over.and_then(|o| o.runner.as_ref()).unwrap_or(&job.runner);
            let cargo = over.and_then(|o| o.cargo.as_ref()).unwrap_or(&job.cargo);
            let templates = over
                .and_then(|o| o.commands.as_ref())
                .unwrap_or(&job.commands);
            let gating = over.and_then(|o| o.gating).unwrap_or(job.gating);
            let shards = self
                .input
                .shards
                .or_else(|| over.and_then(|o| o.shards))
                .unwrap_or(job.shards)
                .max(1);
            let timeout = over
                .and_then(|o| o.timeout.as_ref())
                .or(job.timeout.as_ref());
            let container = inst
                .framework
                .as_deref()
                .and_then(|fw| config.frameworks.get(fw))
                .and_then(|fw| fw.container.clone());
            let labels = if runner.labels.is_empty() {
                config
                    .runner_labels_for(runner.gpus, inst.framework.as_deref())
                    .map(<[String]>::to_vec)
                    .unwrap_or_default()
            } else {
                runner.labels.clone()
            };
            let needs = RunnerNeeds {
                gpus: runner.gpus,
                provides: runner.provides.clone(),
                arch: runner.arch.clone(),
                labels,
                container,
            };

            let mut selected: Vec<&TestItem> = Vec::new();
            let mut markexpr = None;
            if let Some(selection) = selection {
                selected = selection
                    .selected
                    .iter()
                    .filter_map(|&i| inventory.tests.get(i))
                    .collect();
                for (i, reason) in &selection.unrunnable {
                    if let Some(test) = inventory.tests.get(*i) {
                        unrunnable.push(UnrunnableTest {
                            job: inst.name.clone(),
                            test: test.id.clone(),
                            reason: reason.clone(),
                        });
                    }
                }
                if selected.is_empty() {
                    let lacking = selection.unrunnable.len();
                    let reason = if lacking > 0 {
                        format!(
                            "selects no test its runner can host ({lacking} matching test(s) need more than `{}` offers)",
                            needs.summary()
                        )
                    } else if selection.not_affected > 0 {
                        format!(
                            "selects no test the changes affect ({} matching test(s) unaffected)",
                            selection.not_affected
                        )
                    } else {
                        "selects no test".to_string()
                    };
                    dropped.push(DroppedJob {
                        name: inst.name.clone(),
                        reason,
                    });
                    continue;
                }
                markexpr = selection.markexpr;
            } else if templates.is_empty() {
                dropped.push(DroppedJob {
                    name: inst.name.clone(),
                    reason: "has no commands and selects no tests".into(),
                });
                continue;
            }

            let python: Vec<&TestItem> = selected
                .iter()
                .copied()
                .filter(|t| t.language == Language::Python)
                .collect();
            for t in &python {
                if let Some(problem) = pytest_arg_problem(&t.id) {
                    unrunnable.push(UnrunnableTest {
                        job: inst.name.clone(),
                        test: t.id.clone(),
                        reason: format!("its id cannot be passed to pytest safely: {problem}"),
                    });
                }
            }
            let rust: Vec<&TestItem> = selected
                .iter()
                .copied()
                .filter(|t| t.language == Language::Rust)
                .collect();
            let args_stem = format!(
                "{ARGS_DIR}/{}/{}",
                sanitize(self.input.pipeline),
                sanitize(&inst.name)
            );
            let base = CommandContext {
                pipeline: self.input.pipeline,
                job: &inst.name,
                stage: job.stage,
                framework: inst.framework.as_deref(),
                shard: None,
                markexpr: markexpr.as_deref(),
                args_file: None,
                python_tests: python.len(),
                rust_tests: &rust,
                cargo,
                variables: &self.variables,
                universe: &universe,
                files_stem: &args_stem,
                nextest_filter: None,
            };

            let mut shard_list = Vec::new();
            let commands = if shards > 1 && selected.len() > 1 {
                let split = split_into_shards(&selected, shards, self.input.durations);
                if let Some(note) = split.note(&inst.name) {
                    notes.push(note);
                }
                for (index, (part, estimated_s)) in split.shards.into_iter().enumerate() {
                    let index = u32::try_from(index + 1).unwrap_or(u32::MAX);
                    let py: Vec<&TestItem> = part
                        .iter()
                        .copied()
                        .filter(|t| t.language == Language::Python)
                        .collect();
                    let rs: Vec<&TestItem> = part
                        .iter()
                        .copied()
                        .filter(|t| t.language == Language::Rust)
                        .collect();
                    let stem = format!("{args_stem}.shard-{index}");
                    let path = format!("{stem}.args");
                    if !py.is_empty() {
                        args_files.push(args_file(&path, &py));
                    }
                    let ctx = CommandContext {
                        shard: Some((index, shards)),
                        markexpr: None,
                        args_file: Some(&path),
                        python_tests: py.len(),
                        rust_tests: &rs,
                        files_stem: &stem,
                        ..base
                    };
                    let rendered = commands::render(templates, &ctx);
                    let commands = rendered.commands;
                    args_files.extend(rendered.files);
                    if index == 1 {
                        notes.extend(rendered.notes);
                    }
                    shard_list.push(Shard {
                        index,
                        count: shards,
                        commands,
                        tests: part.iter().map(|t| t.id.clone()).collect(),
                        estimated_s,
                    });
                }
                Vec::new()
            } else {
                let path = format!("{args_stem}.args");
                let needs_file = markexpr.is_none() && !python.is_empty();
                if needs_file {
                    args_files.push(args_file(&path, &python));
                }
                let ctx = CommandContext {
                    args_file: needs_file.then_some(path.as_str()),
                    ..base
                };
                let rendered = commands::render(templates, &ctx);
                notes.extend(rendered.notes);
                args_files.extend(rendered.files);
                rendered.commands
            };

            jobs.push(PlannedJob {
                name: inst.name.clone(),
                job: inst.job_name.to_string(),
                framework: inst.framework.clone(),
                stage: job.stage,
                gating,
                runner: needs,
                commands,
                tests: selected.iter().map(|t| t.id.clone()).collect(),
                python_tests: python.len(),
                rust_tests: rust.len(),
                shards: shard_list,
                needs: Vec::new(),
                timeout: timeout.map(|t| t.to_string()),
            });
        }

        // Every id a planned job runs (foldhash: tens of thousands of ids,
        // none from an adversary that could choose colliding ones to slow a
        // plan down).
        let run: RunIds<'_> = jobs
            .iter()
            .flat_map(|j| j.tests.iter().map(String::as_str))
            .collect();
        let not_run = self.not_run(&run, &all_instances, &facts);
        // A test one job's runner cannot host but another job runs (a GPU
        // unit test: `unit` cannot, `unit_1` does) is not worth a word.
        unrunnable.retain(|u| !run.contains(u.test.as_str()));
        drop(run);
        jobs.sort_by_key(|j| j.stage);
        let stages: Vec<u32> = jobs
            .iter()
            .map(|j| j.stage)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let gating: Vec<(u32, String)> = jobs
            .iter()
            .filter(|j| j.gating)
            .map(|j| (j.stage, j.name.clone()))
            .collect();
        for job in &mut jobs {
            job.needs = gating
                .iter()
                .filter(|(stage, _)| *stage < job.stage)
                .map(|(_, name)| name.clone())
                .collect();
        }

        Plan {
            pipeline: self.input.pipeline.to_string(),
            stage: self.pipeline.stage.clone(),
            framework: self.framework.clone(),
            framework_source: self.framework_source.map(str::to_string),
            fail_fast: self.pipeline.fail_fast.unwrap_or(config.run.fail_fast),
            stages,
            jobs,
            dropped,
            unrunnable,
            not_run,
            variables: self.variables.clone(),
            changes: self.input.changes.cloned(),
            args_files,
            notes,
            replan: None,
        }
    }

    /// Every test the pipeline's lifecycle covers that no planned job runs,
    /// with the most telling reason any job instance gives.
    fn not_run(
        &self,
        run: &RunIds<'_>,
        instances: &[Instance<'a>],
        facts: &ClassFacts<'_, '_>,
    ) -> Vec<UncoveredTest> {
        let skipped: Vec<Option<String>> = instances.iter().map(|i| self.job_skipped(i)).collect();
        self.input
            .inventory
            .tests
            .par_iter()
            .enumerate()
            .filter(|(i, t)| !run.contains(t.id.as_str()) && facts.stage_covers(*i))
            .map(|(i, test)| UncoveredTest {
                test: test.id.clone(),
                reason: self.why_not_run(instances, &skipped, (i, test), facts),
            })
            .collect()
    }

    fn why_not_run(
        &self,
        instances: &[Instance<'a>],
        skipped: &[Option<String>],
        (index, test): (usize, &TestItem),
        facts: &ClassFacts<'_, '_>,
    ) -> String {
        let frameworks = facts.frameworks(index);
        let mut best: Option<(u8, String)> = None;
        let mut consider = |rank: u8, text: String| {
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, text));
            }
        };
        for (inst, skip) in instances.iter().zip(skipped) {
            let outcome =
                self.outcome_given(inst, facts.verdict(inst.job_name, index), test, frameworks);
            match (outcome, skip) {
                (Outcome::Selected | Outcome::Unrunnable(_), Some(why)) => {
                    consider(3, format!("job `{}` does not run: {why}", inst.name));
                }
                (Outcome::Selected, None) => {
                    consider(1, format!("job `{}` was dropped", inst.name));
                }
                (Outcome::Unrunnable(why), None) => {
                    consider(5, format!("job `{}` would select it, but {why}", inst.name));
                }
                (Outcome::Rejected(Rejection::Framework(why)), _) => {
                    consider(4, format!("{why} (job `{}`)", inst.name));
                }
                (Outcome::Rejected(Rejection::NotAffected), _) => {
                    consider(4, "the changes do not affect it".to_string());
                }
                (Outcome::Rejected(Rejection::Selection(v)), _) => {
                    if matches!(
                        v,
                        Verdict::FeaturesOff(_) | Verdict::IgnoredExcluded | Verdict::NotIgnored
                    ) {
                        // A verdict is the job's, whatever the instance.
                        consider(2, format!("job `{}`: {v}", inst.job_name));
                    }
                }
            }
        }
        best.map(|(_, why)| why).unwrap_or_else(|| {
            let taxonomy = &self.config().taxonomy;
            let missing: Vec<&str> = taxonomy
                .categories
                .iter()
                .filter(|(_, c)| c.required)
                .filter(|(_, c)| {
                    !test
                        .markers
                        .iter()
                        .any(|m| c.markers.contains_key(taxonomy.canonical(&m.name)))
                })
                .map(|(name, _)| name)
                .collect();
            if missing.is_empty() {
                "no job of this pipeline matches its markers".to_string()
            } else {
                format!(
                    "no job of this pipeline matches its markers (it has no `{}` marker)",
                    missing.join("`, `")
                )
            }
        })
    }

    /// The tests `job`'s expression, lifecycle, runner and cargo options
    /// select (by inventory index), each with the reason its runner cannot
    /// host it, if any.
    fn candidates(&self, job: &str, facts: &ClassFacts<'_, '_>) -> Vec<Candidate> {
        let Some(verdicts) = facts.job_verdicts(job) else {
            return Vec::new();
        };
        (0..self.input.inventory.tests.len())
            .filter_map(
                |i| match verdicts.get(facts.classes.class_of(i)?)?.as_ref()? {
                    Verdict::Selected => Some((i, None)),
                    v @ (Verdict::NotEnoughGpus { .. } | Verdict::RunnerLacks(_)) => {
                        Some((i, Some(v.to_string())))
                    }
                    _ => None,
                },
            )
            .collect()
    }

    /// Which of its job's candidates an instance runs, after the framework
    /// filter and the changes, which it would but cannot host, and the `-m`
    /// that selects exactly its Python tests, if there is one. Decides as
    /// [`Context::outcome`] does, without re-asking the selector.
    fn select(
        &self,
        inst: &Instance<'a>,
        candidates: &[Candidate],
        facts: &ClassFacts<'_, '_>,
        markexpr: Option<(&MarkExpr, &PytestViews<'_>, &[Vec<bool>])>,
    ) -> Selection {
        let tests = &self.input.inventory.tests;
        let narrowing = self
            .change_aware()
            .filter(|c| matches!(c.scope, ChangeScope::Affected { .. }));
        let mut selection = Selection::default();
        let mut chosen = vec![false; tests.len()];
        for (i, unrunnable) in candidates {
            let Some(test) = tests.get(*i) else {
                continue;
            };
            if framework_rejects(inst, facts.frameworks(*i)).is_some() {
                continue;
            }
            if narrowing.is_some_and(|c| c.affected_reason(&test.id).is_none()) {
                selection.not_affected += 1;
                continue;
            }
            match unrunnable {
                Some(reason) => selection.unrunnable.push((*i, reason.clone())),
                None => {
                    selection.selected.push(*i);
                    if let Some(slot) = chosen.get_mut(*i) {
                        *slot = true;
                    }
                }
            }
        }
        let has_python = selection
            .selected
            .iter()
            .any(|&i| tests.get(i).is_some_and(|t| t.language == Language::Python));
        if has_python {
            selection.markexpr = markexpr.and_then(|(markexpr, views, answers)| {
                exact(markexpr, &chosen, views, answers).then(|| markexpr.text.clone())
            });
        }
        selection
    }

    /// The `-m` expression for `inst`, when it parses and survives the
    /// shell unchanged (see [`exact`] for whether it selects exactly the
    /// planned tests).
    fn markexpr_text(&self, inst: &Instance<'a>, job_expr: &str) -> Option<(String, Expression)> {
        let text = pytest_expr::build(
            &self.config().taxonomy,
            &self.spellings,
            job_expr,
            self.stages.as_deref(),
            &inst.filter,
        )?;
        if !pytest_expr::shell_safe_in_double_quotes(&text) {
            return None;
        }
        let parsed = Expression::parse(&text).ok()?;
        Some((text, parsed))
    }
}

/// An instance's pytest `-m`: its text and its terms in the plan's table.
struct MarkExpr {
    text: String,
    compiled: CompiledExpression,
}

/// Whether `markexpr` selects exactly the planned Python tests (`chosen`,
/// by inventory index) of pytest's view of the tree (`answers`: each pytest
/// class's answers to the plan's terms).
fn exact(
    markexpr: &MarkExpr,
    chosen: &[bool],
    views: &PytestViews<'_>,
    answers: &[Vec<bool>],
) -> bool {
    let by_class: Vec<bool> = answers
        .iter()
        .map(|a| markexpr.compiled.evaluate(a))
        .collect();
    views.python.iter().all(|&i| {
        views
            .classes
            .class_of(i)
            .and_then(|c| by_class.get(c))
            .copied()
            == Some(chosen.get(i).copied().unwrap_or(false))
    })
}

/// pytest's view of the Python tests (markers of `[[rules]]` left out:
/// pytest never sees them), one view per class of tests pytest's `-m`
/// cannot tell apart.
struct PytestViews<'t> {
    /// Inventory indices of the Python tests.
    python: Vec<usize>,
    classes: SelectionClasses,
    /// pytest's view of each class's representative.
    views: Vec<Cow<'t, TestItem>>,
}

impl<'t> PytestViews<'t> {
    fn new(tests: &'t [TestItem], relevance: &MarkerRelevance<'_, '_>) -> Self {
        let classes = SelectionClasses::new(tests, |m| {
            if m.origin.source == MarkSource::ConfigRule {
                MarkerUse::Ignored
            } else {
                relevance.use_of(&m.name)
            }
        });
        let views = classes
            .representatives()
            .iter()
            .map(|&i| pytest_expr::pytest_view(&tests[i]))
            .collect();
        PytestViews {
            python: (0..tests.len())
                .filter(|&i| tests[i].language == Language::Python)
                .collect(),
            classes,
            views,
        }
    }
}

/// What the planner needs of every class of tests (see
/// [`SelectionClasses`]): every job's verdict, whether the pipeline's
/// lifecycle stage covers it, and its frameworks; looked up per test.
struct ClassFacts<'c, 'p> {
    classes: &'c SelectionClasses,
    /// Job name → verdict per class (`None`: the job is not the pipeline's).
    by_job: HashMap<&'c str, Vec<Option<Verdict>>>,
    stage_covers: Vec<bool>,
    frameworks: Vec<Vec<&'p str>>,
}

impl<'c, 'p> ClassFacts<'c, 'p> {
    fn new(
        ctx: &'p Context<'c>,
        classes: &'c SelectionClasses,
        instances: &[Instance<'c>],
    ) -> Self {
        let tests = &ctx.input.inventory.tests;
        let mut jobs: Vec<&'c str> = instances.iter().map(|i| i.job_name).collect();
        jobs.sort_unstable();
        jobs.dedup();
        let by_job = jobs
            .par_iter()
            .map(|&job| {
                let verdicts = classes
                    .representatives()
                    .iter()
                    .map(|&i| ctx.selector.job_verdict(ctx.input.pipeline, job, &tests[i]))
                    .collect();
                (job, verdicts)
            })
            .collect();
        let representatives = || classes.representatives().iter().map(|&i| &tests[i]);
        ClassFacts {
            classes,
            by_job,
            stage_covers: representatives()
                .map(|t| ctx.selector.stage_covers(ctx.input.pipeline, t))
                .collect(),
            frameworks: representatives().map(|t| ctx.frameworks_of(t)).collect(),
        }
    }

    /// `job`'s verdict on each class (`None`: the job is not the
    /// pipeline's), looked up once for a pass over every test.
    fn job_verdicts(&self, job: &str) -> Option<&[Option<Verdict>]> {
        self.by_job.get(job).map(Vec::as_slice)
    }

    /// `job`'s verdict on the test at inventory index `test`.
    fn verdict(&self, job: &str, test: usize) -> Option<&Verdict> {
        let class = self.classes.class_of(test)?;
        self.by_job.get(job)?.get(class)?.as_ref()
    }

    /// Whether the pipeline's stage covers the test at inventory index `test`.
    fn stage_covers(&self, test: usize) -> bool {
        self.classes
            .class_of(test)
            .and_then(|c| self.stage_covers.get(c))
            .is_some_and(|&covers| covers)
    }

    /// The frameworks of the test at inventory index `test`.
    fn frameworks(&self, test: usize) -> &[&'p str] {
        self.classes
            .class_of(test)
            .and_then(|c| self.frameworks.get(c))
            .map_or(&[], Vec::as_slice)
    }
}

/// The ids of the tests some planned job runs.
type RunIds<'j> = std::collections::HashSet<&'j str, foldhash::fast::RandomState>;

/// An inventory index, with why the job's runner cannot host the test.
type Candidate = (usize, Option<String>);

/// One test job instance's selection (see [`Context::select`]).
#[derive(Debug, Default)]
struct Selection {
    selected: Vec<usize>,
    unrunnable: Vec<(usize, String)>,
    not_affected: usize,
    markexpr: Option<String>,
}

/// The pipeline called `name`, or an error naming the closest one.
pub fn find_pipeline<'c>(config: &'c Config, name: &str) -> Result<&'c Pipeline, PlanError> {
    config
        .pipelines
        .get(name)
        .ok_or_else(|| PlanError::UnknownPipeline {
            name: name.to_string(),
            suggestion: closest(name, config.pipelines.keys()),
            known: config.pipelines.keys().map(str::to_string).collect(),
        })
}

/// Why the instance's framework filter keeps out a test of `frameworks`.
fn framework_rejects(inst: &Instance<'_>, frameworks: &[&str]) -> Option<String> {
    match &inst.filter {
        FrameworkFilter::Any => None,
        // A test marked for several frameworks runs wherever one of them is
        // under test.
        FrameworkFilter::Selected { .. } => {
            let fw = inst.framework.as_deref()?;
            if frameworks.is_empty() || frameworks.contains(&fw) {
                None
            } else {
                Some(format!(
                    "it is a `{}` test and this run tests `{fw}`",
                    frameworks.join("`, `")
                ))
            }
        }
        FrameworkFilter::Only { .. } => {
            let fw = inst.framework.as_deref()?;
            if frameworks.contains(&fw) {
                let home = inst
                    .one_of
                    .as_ref()
                    .and_then(|order| order.iter().find(|n| frameworks.contains(&n.as_str())));
                match home {
                    Some(home) if home != fw => Some(format!(
                        "it is a `{}` test and runs once, in the `{home}` instance (multi_framework = \"one\")",
                        frameworks.join("`, `")
                    )),
                    _ => None,
                }
            } else if frameworks.is_empty() {
                Some(format!(
                    "it needs no framework; this instance runs `{fw}` tests"
                ))
            } else {
                Some(format!(
                    "it is a `{}` test; this instance runs `{fw}` tests",
                    frameworks.join("`, `")
                ))
            }
        }
        FrameworkFilter::Free { .. } => frameworks
            .first()
            .map(|f| format!("it is a `{f}` test; this instance runs framework-free tests")),
    }
}

/// The framework under test and why: an explicit framework variable (flag or
/// environment) wins, then the one framework the changes lie in (for a
/// change-aware pipeline), then the framework variable's own value, then the
/// default-framework variable, then `changes.default_framework` (chosen
/// from history when it says `prefer`, with the reason).
fn choose_framework(
    input: &PlanInput<'_>,
    pipeline: &Pipeline,
    variables: &Variables,
) -> (Option<String>, Option<&'static str>, Option<String>) {
    let config = input.config;
    if config.frameworks.is_empty() {
        return (None, None, None);
    }
    let var_value = |name: &Option<String>, explicit_only: bool| {
        name.as_deref()
            .and_then(|n| variables.resolved(n))
            .and_then(|r| {
                let explicit = matches!(r.source, VarSource::Flag | VarSource::Environment);
                (explicit || !explicit_only).then(|| r.value.to_string())
            })
    };
    if let Some(fw) = var_value(&config.changes.framework_variable, true) {
        return (Some(fw), Some("variable"), None);
    }
    if pipeline.change_aware {
        if let Some(fw) = input.changes.and_then(|c| c.framework.clone()) {
            return (Some(fw), Some("changes"), None);
        }
    }
    if let Some(fw) = var_value(&config.changes.framework_variable, false) {
        return (Some(fw), Some("variable"), None);
    }
    if let Some(fw) = var_value(&config.changes.default_framework_variable, false) {
        return (Some(fw), Some("default"), None);
    }
    match &config.changes.default_framework {
        None => (None, None, None),
        Some(DefaultFramework::Name(name)) => (Some(name.clone()), Some("default"), None),
        Some(DefaultFramework::History(history)) => match input.flaky {
            None => (history.prefer.first().cloned(), Some("default"), None),
            Some(flaky) => {
                let (fw, note) = default_from_history(input, history, flaky);
                let source = if note.is_some() { "history" } else { "default" };
                (fw, Some(source), note)
            }
        },
    }
}

/// The first framework of `history.prefer` whose tests flaked at most
/// `switch_when_flake_rate_above` of the time: its share of tests (by
/// marker, in the inventory) that the history store saw flake. When every
/// one flakes more, the least flaky (the earliest of equals). The note says
/// why, when the choice is not the first preferred framework.
fn default_from_history(
    input: &PlanInput<'_>,
    history: &HistoryDefault,
    flaky: &HashMap<String, f64>,
) -> (Option<String>, Option<String>) {
    let config = input.config;
    let taxonomy = &config.taxonomy;
    let rates: Vec<(&str, usize, usize)> = history
        .prefer
        .iter()
        .map(|name| {
            let marker = config
                .frameworks
                .get(name)
                .map_or(name.as_str(), |f| f.marker_or(name));
            let marker = taxonomy.canonical(marker);
            let mut total = 0;
            let mut flaked = 0;
            let mut seen = BTreeSet::new();
            for test in &input.inventory.tests {
                if seen.insert(test.id.as_str())
                    && test
                        .markers
                        .iter()
                        .any(|m| taxonomy.canonical(&m.name) == marker)
                {
                    total += 1;
                    if flaky.get(&test.id).is_some_and(|r| *r > 0.0) {
                        flaked += 1;
                    }
                }
            }
            (name.as_str(), flaked, total)
        })
        .collect();
    let rate = |flaked: usize, total: usize| {
        if total == 0 {
            0.0
        } else {
            flaked as f64 / total as f64
        }
    };
    let threshold = history.switch_when_flake_rate_above;
    let chosen = rates
        .iter()
        .find(|(_, f, t)| rate(*f, *t) <= threshold)
        .or_else(|| {
            rates.iter().min_by(|a, b| {
                rate(a.1, a.2)
                    .partial_cmp(&rate(b.1, b.2))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
    let Some(&(name, flaked, total)) = chosen else {
        return (None, None);
    };
    if Some(name) == history.prefer.first().map(String::as_str) {
        return (Some(name.to_string()), None);
    }
    let describe = |(n, f, t): &(&str, usize, usize)| {
        format!("`{n}` {f} of {t} test(s) ({:.1}%)", 100.0 * rate(*f, *t))
    };
    let skipped: Vec<String> = rates
        .iter()
        .take_while(|(n, _, _)| *n != name)
        .map(describe)
        .collect();
    let note = format!(
        "default framework `{name}` chosen from history: {} flaked over the history window, above switch_when_flake_rate_above = {threshold}; `{name}`: {flaked} of {total} test(s) ({:.1}%)",
        skipped.join(", "),
        100.0 * rate(flaked, total)
    );
    (Some(name.to_string()), Some(note))
}

/// The node ids, one per line. An id pytest would misread from such a file
/// (a line break in it, a leading `-` or `@`: see [`pytest_arg_problem`]) is
/// left out: it would inject arguments, not select a test.
fn args_file(path: &str, tests: &[&TestItem]) -> ArgsFile {
    let mut contents = String::new();
    for t in tests.iter().filter(|t| pytest_arg_problem(&t.id).is_none()) {
        contents.push_str(&t.id);
        contents.push('\n');
    }
    ArgsFile {
        path: path.to_string(),
        contents,
    }
}

/// `build_all[vllm]` → `build_all-vllm`: safe in a file name.
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A job's tests split into shards (see [`crate::shards`] for how).
struct JobSplit<'t> {
    /// Each shard's tests, in the job's order, with its estimated seconds
    /// when any of the job's tests has a recorded duration.
    shards: Vec<(Vec<&'t TestItem>, Option<f64>)>,
    tests: usize,
    known: usize,
    assumed: f64,
    split_files: usize,
    /// Whether durations were given at all (without, the caller says why).
    recorded: bool,
}

impl JobSplit<'_> {
    /// What a reader of the plan should know about how `job` was split.
    fn note(&self, job: &str) -> Option<String> {
        let missing = self.tests - self.known;
        let mut parts = Vec::new();
        if self.known == 0 {
            if self.recorded {
                parts.push(
                    "no recorded durations for its tests, so its shards are balanced by test count"
                        .to_string(),
                );
            }
        } else if missing > 0 {
            parts.push(format!(
                "{missing} of {} tests have no recorded duration and count as the median, {:.3} s",
                self.tests, self.assumed
            ));
        }
        if self.split_files > 0 {
            parts.push(format!(
                "{} file(s) split across shards to keep them balanced",
                self.split_files
            ));
        }
        (!parts.is_empty()).then(|| format!("job `{job}`: {}", parts.join("; ")))
    }
}

/// Splits a job's tests into at most `count` shards of near-equal estimated
/// duration ([`crate::shards::balance`]), keeping each file's tests together
/// when that keeps the shards balanced.
fn split_into_shards<'t>(
    tests: &[&'t TestItem],
    count: u32,
    durations: Option<&HashMap<String, f64>>,
) -> JobSplit<'t> {
    let estimates = shards::estimate(tests.iter().map(|t| t.id.as_str()), durations);
    let items: Vec<ShardItem<'_>> = tests
        .iter()
        .zip(&estimates.seconds)
        .map(|(t, &seconds)| ShardItem {
            id: &t.id,
            group: &t.file,
            seconds,
        })
        .collect();
    let split = shards::balance(&items, count);
    let timed = estimates.known > 0;
    JobSplit {
        shards: split
            .shards
            .iter()
            .zip(&split.seconds)
            .map(|(members, &seconds)| {
                let part = members
                    .iter()
                    .filter_map(|&i| tests.get(i).copied())
                    .collect();
                (part, timed.then_some(seconds))
            })
            .collect(),
        tests: tests.len(),
        known: estimates.known,
        assumed: estimates.assumed,
        split_files: split.split_groups,
        recorded: durations.is_some(),
    }
}

/// Why `id` cannot be one line of a pytest args file (`pytest @file`), if it
/// cannot. argparse reads such a file with Python's `str.splitlines` (which
/// also breaks at `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, U+2028 and
/// U+2029), takes a line starting with `-` as an option and one starting
/// with `@` as another file to read.
pub fn pytest_arg_problem(id: &str) -> Option<&'static str> {
    const LINE_BREAKS: &[char] = &[
        '\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
    ];
    if id.is_empty() {
        Some("it is empty")
    } else if id.contains(LINE_BREAKS) {
        Some("it contains a line break")
    } else if id.starts_with('-') {
        Some("it starts with `-` (pytest would read an option)")
    } else if id.starts_with('@') {
        Some("it starts with `@` (pytest would read another args file)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_safe_file_names() {
        assert_eq!(sanitize("build_all[vllm]"), "build_all-vllm");
        assert_eq!(sanitize("e2e 1/2"), "e2e-1-2");
    }
}
