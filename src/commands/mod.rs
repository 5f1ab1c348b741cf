//! What each stack command does, between the parsed arguments and the library: load the
//! stack and state, plan, apply, report.

pub mod rollback;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::aws::{self, Cx};
use crate::cli::{
    BuildArgs, DestroyArgs, ImageArgs, LocalRuntime, PlanArgs, StackArgs, StatusArgs, SupervisorArgs, UpArgs,
};
use crate::local::release::{self, Release};
use crate::local::replicas::Runtime;
use crate::local::settings::LocalSettings;
use crate::plan::{self, Resource};
use crate::refresh::{self, Drift};
use crate::ship::{Destination, Shipment};
use crate::stack::{self, Stack};
use crate::state::{self, State, StateLock};
use crate::{deploys, engine, image, local, recover, timings, ui};

/// Exit code of `plan` when there are changes (and of any command on a bad stack file).
pub const EXIT_CHANGES: u8 = 2;

/// A loaded stack with its state file location.
struct Loaded {
    stack: Stack,
    state_path: PathBuf,
}

fn load(args: &StackArgs) -> anyhow::Result<Loaded> {
    let mut stack = stack::load(&args.file)?;
    if let Some(region) = &args.region {
        stack.region = region.clone();
    }
    let state_path = args.state.clone().unwrap_or_else(|| state::default_path(&args.file, &stack.name));
    Ok(Loaded { stack, state_path })
}

/// The stack's image shipment, with `--registry` applied to the stack.
fn shipment(args: &StackArgs, image: &ImageArgs, stack: &mut Stack) -> anyhow::Result<Shipment> {
    if let Some(registry) = &image.registry {
        stack.app.registry = Some(registry.clone());
    }
    let custom_endpoint = args.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let destination = Destination::of(stack, custom_endpoint);
    if destination == Destination::Nowhere {
        eprintln!(
            "note: the AWS endpoint is an emulator whose ECR has no registry: the app image is not pushed \
             (name one with --registry or app.registry)"
        );
    }
    Shipment::prepare(destination, image.app_binary.as_deref())
}

/// `cloudcomp validate`: the stack with defaults filled in.
pub fn validate(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let loaded = load(args)?;
    print!("{}", serde_saphyr::to_string(&loaded.stack).context("printing the stack")?);
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp plan`: 0 when up to date, [`EXIT_CHANGES`] when there are changes.
pub async fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let Loaded { mut stack, state_path } = load(&args.stack)?;
    let shipment = shipment(&args.stack, &args.image, &mut stack)?;
    let recorded = state::load(&state_path, &stack.name, &stack.region)?;
    if !recorded.pending.is_empty() {
        eprintln!(
            "note: a run was interrupted while creating {}; `up` looks for them at AWS before creating anything",
            recorded.pending.keys().map(|a| a.0.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    let (live, drift) = if args.no_refresh {
        (recorded, Vec::new())
    } else {
        refreshed(&connect(&args.stack, &stack).await, recorded).await?
    };
    let plan = plan::diff(&plan::desired(&stack, shipment.tag(), shipment.pushes()), &live);
    let mut out = anstream::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", ui::plan_json(&stack.name, &stack.region, &plan, &drift))
    } else {
        ui::print_drift(&mut out, &drift).and_then(|()| ui::print_plan(&mut out, &stack.name, &stack.region, &plan))
    }
    .context("writing the plan")?;
    Ok(if plan.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CHANGES) })
}

/// `cloudcomp up`: applies the plan, checkpointing the state after every step.
pub async fn up(args: &UpArgs) -> anyhow::Result<ExitCode> {
    if args.local {
        return up_local(args).await;
    }
    let Loaded { mut stack, state_path } = load(&args.stack)?;
    let shipment = shipment(&args.stack, &args.image, &mut stack)?;
    let desired = plan::desired(&stack, shipment.tag(), shipment.pushes());
    let missing: Vec<&str> = desired.iter().map(|r| r.kind).filter(|k| aws::kind(k).is_none()).collect();
    anyhow::ensure!(missing.is_empty(), "this build cannot manage resource kinds yet: {}", dedup(missing).join(", "));
    let started = SystemTime::now();
    // Built here; pushed by the graph once its repository exists.
    shipment.build().await?;
    let follow = (!args.no_wait).then_some(args.wait_timeout);
    let run = Run { refresh: !args.no_refresh, timings: args.timings, follow_rollouts: follow };
    let (state, cx) = apply(&args.stack, &stack, &state_path, run, &desired).await?;
    if !args.no_wait {
        wait_until_serving(&cx, &state, started, args.wait_timeout).await?;
    }
    if let Some(url) = url(&state) {
        println!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits until the Auto Scaling group's instances are in service and the load balancer
/// finds them healthy, saying what it waits for.
async fn wait_until_serving(cx: &Cx, state: &State, since: SystemTime, timeout: Duration) -> anyhow::Result<()> {
    let output = |address: &str, name: &str| {
        let recorded = state.resources.get(&plan::Address::from(address))?;
        recorded.outputs.get(name).and_then(|v| v.as_str()).map(str::to_string)
    };
    let (Some(group), Some(target_group)) = (output(deploys::GROUP, "name"), output("target_group.app", "arn")) else {
        return Ok(());
    };
    let waited = Instant::now();
    let line = ui::Waiting::new("waiting for the service");
    let serving = aws::until_serving(cx, &group, &target_group, since, timeout, &|what| line.say(what)).await;
    match serving {
        Ok(serving) => {
            line.done(&format!("service up in {:.1}s: {}", waited.elapsed().as_secs_f64(), serving.summary()));
            Ok(())
        }
        Err(error) => {
            line.done("the service did not come up");
            Err(error)
        }
    }
}

/// `cloudcomp up --local`: the stack on this machine. A running one gets the release
/// (the app and its environment) deployed replica by replica and the settings (scaling,
/// health check) applied, unless it already runs both.
async fn up_local(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(&args.stack)?;
    let dir = local::dir(&state_path, &stack.name);
    let running = local::running(&dir);
    let runtime = match (args.runtime, &running) {
        (Some(runtime), _) => runtime,
        (None, Some(status)) if status.runtime == "docker" => LocalRuntime::Docker,
        (None, Some(_)) => LocalRuntime::Process,
        (None, None) if image::docker::connect().await.is_ok() => LocalRuntime::Docker,
        (None, None) => LocalRuntime::Process,
    };
    let runtime_name = match runtime {
        LocalRuntime::Docker => "docker",
        LocalRuntime::Process => "process",
    };
    if let Some(status) = &running {
        anyhow::ensure!(
            status.runtime == runtime_name,
            "the local stack runs in the {} runtime; `cloudcomp destroy --local` it to change runtimes",
            status.runtime
        );
    }
    let env = release::environment(&stack.app);
    let release = match runtime {
        LocalRuntime::Docker => {
            let context = image::prepare(args.image.app_binary.as_deref())?;
            let built = image::build(&image::docker::connect().await?, &context).await?;
            Release::of_image(&built.local, env)
        }
        LocalRuntime::Process => {
            Release::of_binary(&dir, &local::app_binary(args.image.app_binary.as_deref(), &dir)?, env)?
        }
    };
    let settings = LocalSettings::of(&stack);
    let url = match running {
        None => {
            let request = local::control::Request::new(release, Some(settings), None);
            local::up(&dir, &stack.name, args.port, runtime_name, &request)?
        }
        Some(status)
            if status.release == release.id
                && status.replicas.iter().all(|r| r.release == release.id)
                && status.settings.as_ref() == Some(&settings) =>
        {
            eprintln!(
                "Stack {} already runs release {} locally with these settings: no changes.",
                stack.name, release.id
            );
            status.url
        }
        Some(status) => {
            let line = ui::Waiting::new("deploying");
            let mut what = format!("release {} ({})", release.id, release.app_name());
            if let Some(running) = &status.settings {
                let changes = running.changes(&settings);
                if !changes.is_empty() {
                    what.push_str(&format!(" with {}", changes.join(", ")));
                }
            }
            let request = local::control::Request::new(release, Some(settings), None);
            match local::deploy::deploy(&dir, &status, &request, args.wait_timeout, &|step| line.say(step)) {
                Ok(done) => {
                    let number =
                        done.deploy.and_then(|d| d.number).map(|n| format!("deploy #{n}: ")).unwrap_or_default();
                    line.done(&format!("{number}every replica runs {what}"));
                    done.url
                }
                Err(error) => {
                    line.done(&format!("{what} was not deployed"));
                    return Err(error);
                }
            }
        }
    };
    println!("{url}/api/v1/users");
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp local-supervisor`: runs a local stack until stopped.
pub async fn local_supervisor(args: &SupervisorArgs) -> anyhow::Result<ExitCode> {
    let runtime = match args.runtime {
        LocalRuntime::Process => {
            let data_dir = args.dir.join("data");
            std::fs::create_dir_all(&data_dir)?;
            Runtime::Processes { data_dir, logs: args.dir.join("logs") }
        }
        LocalRuntime::Docker => {
            Runtime::Containers { docker: image::docker::connect().await?, stack: args.stack.clone() }
        }
    };
    let settings =
        local::supervisor::Settings { stack: args.stack.clone(), port: args.port, runtime, dir: args.dir.clone() };
    local::supervisor::run(settings).await?;
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp build`: builds the app image and, with `--push`, pushes it.
pub async fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let context = image::prepare(args.app_binary.as_deref())?;
    let docker = image::docker::connect().await?;
    let built = image::build(&docker, &context).await?;
    eprintln!("Built {} ({:.1} MB).", built.local, built.size as f64 / 1_000_000.0);
    match &args.push {
        Some(registry) => {
            let repository = format!("{registry}/{}", image::docker::LOCAL_REPOSITORY);
            let digest = image::docker::push(&docker, &built.tag, &repository, None).await?;
            println!("{repository}:{}@{digest}", built.tag);
        }
        None => println!("{}", built.local),
    }
    Ok(ExitCode::SUCCESS)
}

/// The URL to curl: the load balancer's name, at the app's user list.
fn url(state: &State) -> Option<String> {
    let lb = state.resources.get(&plan::Address::from("load_balancer.app"))?;
    Some(format!("http://{}/api/v1/users", lb.outputs.get("dns_name")?.as_str()?))
}

/// `cloudcomp destroy`: deletes everything the state records, dependents first; each
/// resource is read first and left alone unless it carries the stack's tag. With
/// `--from-tags`, the state is first rebuilt from what AWS has for the stack.
pub async fn destroy(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    if args.from_tags {
        return destroy_from_tags(args).await;
    }
    let Loaded { stack, state_path } = load(&args.stack)?;
    if args.local {
        let stopped = local::destroy(&state_path, &stack.name).await?;
        eprintln!(
            "{}",
            if stopped { "Stopped the local stack and removed its data." } else { "No local stack was running." }
        );
        return Ok(ExitCode::SUCCESS);
    }
    apply(&args.stack, &stack, &state_path, Run::default(), &[]).await?;
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp destroy --from-tags`: finds every resource the stack would have at AWS, by
/// its tags or its name, records it in the state, then destroys as usual.
async fn destroy_from_tags(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = match &args.stack_name {
        Some(name) => {
            let mut stack = stack::parse(&format!("name: {name}\n"))
                .map_err(|problems| stack::StackError::Invalid { file: "--stack".into(), problems })?;
            if let Some(region) = &args.stack.region {
                stack.region = region.clone();
            }
            let state_path = args.stack.state.clone().unwrap_or_else(|| state::default_path(&args.stack.file, name));
            Loaded { stack, state_path }
        }
        None => load(&args.stack)?,
    };
    {
        let _lock = StateLock::acquire(&state_path)?;
        let mut state = state::load(&state_path, &stack.name, &stack.region)?;
        let cx = connect(&args.stack, &stack).await;
        let desired = plan::desired(&stack, crate::ship::UNSHIPPED_TAG, false);
        let found = recover::rediscover(&cx, aws::kind, &desired, &mut state).await?;
        ui::print_found(&mut anstream::stderr().lock(), ui::Search::FromTags, &found)
            .context("writing what was found")?;
        state::save(&state_path, &state)?;
    }
    apply(&args.stack, &stack, &state_path, Run::default(), &[]).await?;
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp status`: every recorded resource as it is live, with instances, target
/// health, alarm states and the URL.
pub async fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(&args.stack)?;
    if args.local {
        return status_local(args, &state_path, &stack);
    }
    let state = state::load(&state_path, &stack.name, &stack.region)?;
    let (found, rollout) = if state.resources.is_empty() {
        Default::default()
    } else {
        let cx = connect(&args.stack, &stack).await;
        let found = refresh::read_all(&cx, aws::kind, &state).await?;
        let rollout = rolling_out(&cx, &state, &found).await;
        (found, rollout)
    };
    let url = url(&state);
    let mut out = anstream::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", ui::status_json(&state, &found, url.as_deref(), rollout.as_deref()))
    } else {
        ui::print_status(&mut out, &state, &found, url.as_deref(), rollout.as_deref())
    }
    .context("writing the status")?;
    Ok(ExitCode::SUCCESS)
}

/// The instance refresh running on the stack's group, summed up, when the group or its
/// instances are not all on the version the state rolled out (only then is one looked for).
async fn rolling_out(cx: &Cx, state: &State, found: &BTreeMap<plan::Address, refresh::Found>) -> Option<String> {
    let group = plan::Address::from(deploys::GROUP);
    let Some(refresh::Found::Live(live)) = found.get(&group) else { return None };
    let wanted = deploys::current_version(state)?;
    let on_version = |v: &serde_json::Value| v.as_str() == Some(wanted.as_str());
    let instances = live.details.get("instances").and_then(serde_json::Value::as_array);
    let all_there = live.attrs.get("launch_template_version").is_some_and(on_version)
        && instances.is_none_or(|list| {
            list.iter().all(|i| i.get("version").and_then(|v| v.as_str()) == Some(&format!("v{wanted}")))
        });
    if all_there {
        return None;
    }
    let name = state.resources.get(&group)?.outputs.get("name")?.as_str()?;
    match aws::rollout::active(cx, name).await {
        Ok(active) => active.map(|refresh| refresh.summary()),
        Err(error) => Some(format!("unknown ({error:#})")),
    }
}

fn status_local(args: &StatusArgs, state_path: &std::path::Path, stack: &Stack) -> anyhow::Result<ExitCode> {
    let mut out = anstream::stdout().lock();
    match local::running(&local::dir(state_path, &stack.name)) {
        Some(status) if args.json => writeln!(out, "{}", serde_json::to_string_pretty(&status)?),
        Some(status) => local::status::print(&mut out, &status),
        None if args.json => writeln!(out, "null"),
        None => writeln!(out, "Stack {} is not running locally (cloudcomp up --local starts it).", stack.name),
    }
    .context("writing the status")?;
    Ok(ExitCode::SUCCESS)
}

async fn connect(args: &StackArgs, stack: &Stack) -> Arc<Cx> {
    connect_following(args, stack, None).await
}

/// [`connect`], following rollouts for up to `follow_rollouts`.
async fn connect_following(args: &StackArgs, stack: &Stack, follow_rollouts: Option<Duration>) -> Arc<Cx> {
    let mut cx = Cx::connect(&stack.name, &stack.region, args.endpoint_url.as_deref(), args.profile.as_deref()).await;
    cx.tag_lag = args.tag_lag;
    cx.follow_rollouts = follow_rollouts;
    Arc::new(cx)
}

/// Now, as the deploy history writes it.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// `recorded` brought up to date with the live resources, and what drifted.
async fn refreshed(cx: &Arc<Cx>, recorded: State) -> anyhow::Result<(State, Vec<Drift>)> {
    if recorded.resources.is_empty() {
        return Ok((recorded, Vec::new()));
    }
    let found = refresh::read_all(cx, aws::kind, &recorded).await?;
    refresh::reconcile(&recorded, &found)
}

/// How [`apply`] runs.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    /// Read every recorded resource from AWS first.
    refresh: bool,
    /// Print each step's time and the critical path after.
    timings: bool,
    /// How long a rollout of a new version is followed ([`Cx::follow_rollouts`]).
    follow_rollouts: Option<Duration>,
}

/// Applies `desired` (empty: destroy everything) under the state lock, recording a rollout
/// of a new version in the deploy history; the state after, and the AWS clients it used, for
/// what comes next (the wait for the service).
async fn apply(
    args: &StackArgs,
    stack: &Stack,
    state_path: &std::path::Path,
    run: Run,
    desired: &[Resource],
) -> anyhow::Result<(State, Arc<Cx>)> {
    let Run { refresh, timings, follow_rollouts } = run;
    let started = Instant::now();
    let lock = StateLock::acquire(state_path)?;
    let mut state = state::load(state_path, &stack.name, &stack.region)?;
    if let (Some(pid), false) = (lock.took_over_from(), state.pending.is_empty()) {
        eprintln!(
            "Run {pid} was killed while creating; giving its last AWS calls {} to land before looking for what it made.",
            humantime::format_duration(args.landing_grace)
        );
        tokio::time::sleep(args.landing_grace).await;
    }
    let cx = connect_following(args, stack, follow_rollouts).await;
    if !desired.is_empty() {
        // Before anything is created: an instance type that cannot run the image is refused.
        aws::check_instance_type(&cx, &stack.instances.instance_type).await?;
    }
    let adopted = recover::adopt_pending(&cx, aws::kind, &mut state, state_path).await?;
    ui::print_found(&mut anstream::stderr().lock(), ui::Search::Interrupted, &adopted)
        .context("writing what was adopted")?;
    if desired.is_empty() && !state.resources.is_empty() {
        // A destroy: copies a cut-off run left under the stack's tags go too.
        let copies = recover::record_copies(&cx, aws::kind, &mut state).await?;
        if !copies.is_empty() {
            ui::print_found(&mut anstream::stderr().lock(), ui::Search::FromTags, &copies)
                .context("writing the copies found")?;
            state::save(state_path, &state)?;
        }
    }
    if refresh {
        let drift;
        (state, drift) = refreshed(&cx, state).await?;
        ui::print_drift(&mut anstream::stderr().lock(), &drift).context("writing the drift")?;
    }
    let plan = plan::diff(desired, &state);
    if plan.is_empty() {
        eprintln!("Stack {} ({}) is up to date: no changes.", stack.name, stack.region);
        return Ok((state, cx));
    }
    eprintln!("Stack {} ({}): {}.", stack.name, stack.region, ui::summary(&plan));
    let before = state.clone();
    let progress = ui::Progress::default();
    engine::apply(cx.clone(), aws::kind, &plan, desired, &mut state, state_path, &progress).await?;
    if let Some(mut deploy) = deploys::made(&before, &state, &now_rfc3339()) {
        if follow_rollouts.is_none() {
            deploy.change.push_str(" (--no-wait: rollout not followed)");
        }
        eprintln!("Deploy #{}: template version {} ({}).", deploy.number, deploy.template_version, deploy.change);
        deploys::record(&mut state, deploy);
        state::save(state_path, &state)?;
    }
    let wall = started.elapsed();
    eprintln!("Done in {:.1}s.", wall.as_secs_f64());
    if timings {
        let path = timings::critical_path(&progress.durations(), &before, desired);
        ui::print_timings(&mut anstream::stderr().lock(), &path, wall).context("writing the timings")?;
    }
    Ok((state, cx))
}

fn dedup(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names.dedup();
    names
}
