//! Services on a scratch database with a controllable clock, and operators of every role.

use std::path::Path;
use std::sync::Arc;

use chrono::Duration;
use venue_desk::Services;
use venue_desk::auth::{Caller, LoginStep, NewOperatorInput, secrets};
use venue_desk::clock::ManualClock;
use venue_desk::config::VenueConfig;
use venue_desk::domain::operator::Role;

pub const PASSWORD: &str = "Venue-desk-2026";

pub struct Venue {
    pub services: Arc<Services>,
    pub clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

pub fn username(role: Role) -> String {
    format!("op.{}", role.as_str().replace('_', "-"))
}

/// The fixture's operator of `role`, as the services see a signed-in caller: ids in the order
/// `Venue::open_with` creates them.
pub fn caller(role: Role) -> Caller {
    let operator_id = match role {
        Role::Administrator => 1,
        Role::FrontDesk => 2,
        Role::Supervisor => 3,
        Role::VenueManager => 4,
    };
    Caller { operator_id, username: username(role), role }
}

/// Every table, index and trigger with its SQL, in a stable order: two databases with equal
/// schemas give equal lists.
pub async fn schema(pool: &sqlx::SqlitePool) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT type, name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY type, name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

impl Venue {
    /// The demo venue on an empty database, with one operator of each role (the administrator
    /// created through first run) and nobody signed in.
    pub async fn open() -> Venue {
        Venue::open_with(|_| {}, "2026-11-23T01:00:00Z").await
    }

    /// The demo venue changed by `patch` (e.g. devices pointed at simulators), starting at `now`.
    pub async fn open_with(patch: impl FnOnce(&mut VenueConfig), now: &str) -> Venue {
        let dir = tempfile::tempdir().unwrap();
        let mut config = venue_desk::config::demo(dir.path());
        patch(&mut config);
        let clock = Arc::new(ManualClock::new(now.parse().unwrap()));
        let services = Arc::new(Services::open(config, clock.clone()).await.unwrap());
        let admin = NewOperatorInput {
            username: username(Role::Administrator),
            display_name: "管理员".into(),
            role: Role::Administrator,
            password: PASSWORD.into(),
        };
        services.auth.create_first_administrator(&admin).await.unwrap();
        let caller = Caller { operator_id: 1, username: admin.username.clone(), role: Role::Administrator };
        for role in [Role::FrontDesk, Role::Supervisor, Role::VenueManager] {
            let input = NewOperatorInput {
                username: username(role),
                display_name: format!("{role:?}"),
                role,
                password: PASSWORD.into(),
            };
            services.auth.create_operator(&caller, &input).await.unwrap();
        }
        Venue { services, clock, dir }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Signs in as the operator of `role`, enrolling or answering the second factor as needed.
    pub async fn sign_in(&self, role: Role) {
        let auth = &self.services.auth;
        auth.logout().await.unwrap();
        // A fresh time step for each sign-in: TOTP codes are single-use.
        self.clock.advance(Duration::seconds(31));
        match auth.login(&username(role), PASSWORD).await.unwrap() {
            LoginStep::SignedIn { .. } => {}
            LoginStep::EnrolmentRequired { enrolment } => {
                let code = secrets::code_at(&enrolment.secret_base32, self.clock_now()).unwrap();
                auth.confirm_enrolment(&code).await.unwrap();
            }
            LoginStep::SecondFactorRequired => {
                let secret: (Option<String>,) =
                    sqlx::query_as("SELECT totp_secret FROM operators WHERE username = $1")
                        .bind(username(role))
                        .fetch_one(self.services.store.pool())
                        .await
                        .unwrap();
                let code = secrets::code_at(&secret.0.unwrap(), self.clock_now()).unwrap();
                auth.verify_second_factor(&code).await.unwrap();
            }
        }
        assert_eq!(auth.current().map(|s| s.role), Some(role));
    }

    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use venue_desk::clock::Clock;
        self.clock.now()
    }
}
