use std::process::ExitCode;

use clap::Parser;
use tollgate::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let result = match cli.command {
        Command::Serve(args) => cli::serve(config, args.demo, json).await,
        command => cli::run_admin(config, command).await.map(|out| {
            if json {
                println!("{}", out.json);
            } else {
                print!("{}", out.text);
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(json, &e.to_string()),
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
