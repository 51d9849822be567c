//! The `gaprelay` binary: parses the command line, loads configuration, starts
//! telemetry and runs `serve` or `worker`. The only place that decides the exit code.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gaprelay::config::Settings;
use gaprelay::crypto::api_key::AdminToken;
use gaprelay::crypto::seal::MasterKey;
use gaprelay::domain::practitioner::NewPractitioner;
use gaprelay::http::wire::practitioner::PractitionerPatchRequest;
use gaprelay::http::wire::ranges::RangeRequest;
use gaprelay::startup::{self, Application, Options};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: allocation was a fifth of an intake's CPU
/// (docs/performance.md has the profile before and after).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gaprelay",
    version,
    about = "Zero-retention relay for health intake data"
)]
struct Cli {
    /// TOML configuration file (also GAPRELAY_CONFIG); environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the delivery workers in one process.
    Serve {
        /// Demo mode: seed a practitioner with slug `demo`, print its API key and a
        /// sample request; generate a master key and admin token when none is set.
        #[arg(long)]
        demo: bool,
    },
    /// Run delivery workers only (needs GAPRELAY_REDIS_URL); serves /healthz, /readyz
    /// and /metrics on GAPRELAY_WORKER_BIND.
    Worker,
    /// Re-encrypt every stored secret under GAPRELAY_MASTER_KEY, opening what older
    /// keys sealed with GAPRELAY_PREVIOUS_MASTER_KEYS (see docs/security.md). Safe to
    /// run again.
    RotateMasterKey,
    /// Receive webhooks locally for development: create an endpoint on a relay for a
    /// local port and print each event verified and decrypted (docs/receiving.md).
    Listen(Box<gaprelay::listen::ListenOptions>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        // A client of a relay, not a relay: no relay configuration, no service logs.
        Command::Listen(options) => return listen(*options),
        other => other,
    };
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let (mut settings, warnings) = match Settings::load(cli.config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gaprelay: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    gaprelay::telemetry::init(settings.log_format);
    for w in warnings {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gaprelay: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve { demo } => {
                let demo_secrets = if demo {
                    Some(prepare_demo(&mut settings))
                } else {
                    None
                };
                let app = Application::build(settings, Options::default()).await?;
                if let Some(secrets) = demo_secrets {
                    seed_demo(&app, secrets).await?;
                }
                tracing::info!(port = app.port(), "gaprelay serving");
                app.run_until_stopped().await
            }
            Command::Worker => startup::run_worker(settings).await,
            Command::Listen(options) => gaprelay::listen::run(*options).await,
            Command::RotateMasterKey => {
                let key_id = settings.master_key.as_ref().map(|k| k.key_id());
                let report = startup::rotate_master_key(settings).await?;
                print_reseal(key_id.as_deref().unwrap_or("?"), &report);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "gaprelay stopped");
            eprintln!("gaprelay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `gaprelay listen` on a runtime of its own.
fn listen(options: gaprelay::listen::ListenOptions) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(gaprelay::listen::run(options)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gaprelay listen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_reseal(key_id: &str, r: &gaprelay::service::rotation::ResealReport) {
    println!(
        "re-sealed {} value(s) of {} endpoint(s) of {} practitioner(s) under master key {key_id}; {} already were",
        r.resealed, r.endpoints, r.practitioners, r.already_current
    );
}

/// The sample intake printed by demo mode.
const SAMPLE_INTAKE: &str = r#"{"contact":{"name":"Sam Sample","email":"sam@example.com"},"sex":"female","age":42,"labs":[{"marker":"3016-3","value":3.1,"unit":"mIU/L"},{"marker":"glucose_fasting","value":5.2,"unit":"mmol/L"},{"marker":"vitamin_d_25oh","value":70,"unit":"nmol/L"}],"symptoms":["fatigue","brain_fog"],"consent":true}"#;

/// The sample range printed by demo mode.
const SAMPLE_RANGE: &str = r#"{"unit":"mIU/L","optimal":{"low":1.0,"high":2.0},"messages":{"high":"A little high: let us talk."}}"#;

/// What demo mode generated, to print once the server is up.
struct DemoSecrets {
    admin_token: Option<String>,
}

/// Fills in what a newcomer has not configured: an ephemeral master key and admin token.
fn prepare_demo(settings: &mut Settings) -> DemoSecrets {
    let mut rng = rand::rngs::OsRng;
    settings.demo_form = Some("demo".to_owned());
    // So that `gaprelay listen` (an http:// endpoint on this machine) works against the
    // demo out of the box; the demo is for a developer's machine only.
    settings.allow_private_targets = true;
    if settings.master_key.is_none() {
        tracing::warn!("demo: no GAPRELAY_MASTER_KEY set; using a random one for this run only");
        settings.master_key = Some(MasterKey::generate(&mut rng));
    }
    let admin_token = if settings.admin_token.is_none() {
        let token = gaprelay::crypto::api_key::ApiKey::generate(&mut rng)
            .expose()
            .replacen("grk_", "adm_", 1);
        settings.admin_token = Some(AdminToken::new(token.clone()));
        Some(token)
    } else {
        None
    };
    DemoSecrets { admin_token }
}

/// Gives the demo practice what a real one would set up first, so that the demo form
/// shows the practitioner's own wording and a call to action.
async fn dress_demo(app: &Application, key: &str) -> anyhow::Result<()> {
    let services = app.services();
    let who = services
        .authenticate(key)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the demo key does not authenticate")?;
    let range: RangeRequest =
        serde_json::from_str(SAMPLE_RANGE).context("the sample range parses")?;
    services
        .put_range(&who, "tsh", range.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot set the demo TSH range")?;
    let patch: PractitionerPatchRequest = serde_json::from_value(serde_json::json!({
        "call_to_action": {"label": "Book a free discovery call", "url": "https://demo.example.com/book"}
    }))
    .context("the demo settings parse")?;
    services
        .patch_practitioner(&who, None, patch.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot set up the demo practice")?;
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn seed_demo(app: &Application, secrets: DemoSecrets) -> anyhow::Result<()> {
    let (p, key, _) = app
        .services()
        .create_practitioner(NewPractitioner {
            practice_name: "Demo Functional Medicine".into(),
            doctor_name: "Dr. Demo".into(),
            email: "demo@example.com".into(),
            website_url: "https://demo.example.com".into(),
            slug: Some("demo".into()),
            phone_region: Some("US".into()),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot seed the demo practitioner (is slug `demo` already taken?)")?;
    dress_demo(app, key.expose()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    println!();
    println!("gaprelay demo is running on {base}");
    println!();
    println!("  Open in a browser:");
    println!("    {base}/demo     a practice's website with the form embedded by one line");
    println!("    {base}/f/demo   the hosted form on its own");
    println!();
    println!("  demo practitioner: {} (slug `{}`)", p.id, p.slug.as_str());
    println!("  its owner API key (shown once): {}", key.expose());
    if let Some(t) = &secrets.admin_token {
        println!("  operator admin token for this run: {t}");
    }
    println!();
    println!("Submit a sample intake (the gap report comes straight back):");
    println!("  curl -s -X POST {base}/v1/intake/demo -H 'Content-Type: application/json' -d '{SAMPLE_INTAKE}'");
    println!();
    println!("Watch its webhooks arrive, verified and decrypted (in another terminal):");
    println!(
        "  cargo run -- listen --relay {base} --api-key {}",
        key.expose()
    );
    println!();
    println!("Set your own optimal TSH range:");
    let bearer = key.expose();
    println!(
        "  curl -s -X PUT {base}/v1/ranges/tsh -H 'Authorization: Bearer {bearer}' -H 'Content-Type: application/json' -d '{SAMPLE_RANGE}'"
    );
    println!();
    Ok(())
}
