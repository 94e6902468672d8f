use clap::Parser;
use license_server::cli::{self, AdminCommand, Cli, Command};

fn main() -> std::process::ExitCode {
    let args = Cli::parse();
    let result = match &args.command {
        None => run_server(&args.serve, &args),
        Some(Command::Serve(serve)) => run_server(serve, &args),
        Some(Command::Migrate) => cli::migrate(&args.database),
        Some(Command::Openapi) => {
            print!("{}", license_server::openapi_json());
            Ok(())
        }
        Some(Command::VerifyLicenseFile { public_key, hardware_id, file }) => {
            cli::verify_license_file(public_key, hardware_id.as_deref(), file)
        }
        Some(Command::Admin { command: AdminCommand::Create { email, name } }) => {
            cli::admin_create(&args.database, email, name)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("license-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_server(serve: &license_server::config::ServeArgs, args: &Cli) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(cli::serve(serve, &args.database))
}
