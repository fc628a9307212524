use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tollgate::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

/// jemalloc, with few arenas and dirty pages returned after a second (`.cargo/config.toml`):
/// fewer instructions per request than the system allocator and a smaller resident set.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let config = match cli.load_config() {
        Ok(c) => c,
        Err(e) => return fail(json, &e.to_string()),
    };
    let default_filter = if matches!(cli.command, Command::Serve(_)) {
        config.log.as_str()
    } else {
        "warn"
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format.eq_ignore_ascii_case("json") {
        // One JSON object per line, the request's span (and id) on each.
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        // Colour only for a person at a terminal, never into a file or a pipe.
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }

    let result = match cli.command {
        Command::Config(_) => return config_check(&config, cli.config.as_deref(), json).await,
        Command::Serve(args) => cli::serve(config, args.demo, json).await,
        Command::Admin(command) => cli::run_admin(config, command)
            .await
            .map(|out| print(&out, json)),
        Command::Data(command) => cli::run_data(config, command)
            .await
            .map(|out| print(&out, json)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(json, &e.to_string()),
    }
}

async fn config_check(
    config: &tollgate::config::Config,
    file: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    let effective = tollgate::check::redacted(config);
    let mut problems = tollgate::check::problems(config, file);
    let (mail, mail_problem) = tollgate::check::mail_status(config).await;
    if mail_problem {
        problems.push(mail.clone());
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "config": effective, "problems": problems, "mail": mail })
        );
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&effective).unwrap_or_default()
        );
        println!("\n{mail}");
        if problems.is_empty() {
            println!("\nNo problems found.");
        } else {
            println!("\nProblems:");
            for p in &problems {
                println!("  - {p}");
            }
        }
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print(out: &cli::Output, json: bool) {
    if json {
        println!("{}", out.json);
    } else {
        print!("{}", out.text);
    }
}

fn fail(json: bool, message: &str) -> ExitCode {
    if json {
        println!("{}", serde_json::json!({ "error": message }));
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::FAILURE
}
