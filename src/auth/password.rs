//! Passwords: argon2id with the crate's defaults (the OWASP parameters:
//! 19 MiB, 2 passes, 1 lane), hashed and verified on threads of their own at
//! the lowest priority, a few at a time, so a burst of logins can't starve
//! the async workers or the validations.

use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::crypto::{random_below, random_bytes};
use crate::error::{ApiError, ApiResult};

/// Lengths a person may choose (in characters).
pub const MIN_CHOSEN: usize = 12;
pub const MAX_CHOSEN: usize = 128;

/// Characters of generated passwords: no 0/O/o, 1/l/I/i look-alikes.
const GENERATED_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// 20 characters of a 54-letter alphabet ≈ 115 bits.
pub const GENERATED_LENGTH: usize = 20;

/// Hashes `password` with a fresh 16-byte salt into a PHC string.
pub fn hash_now(password: &str) -> String {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &random_bytes::<16>())
        .expect("argon2 accepts every password up to 4 GiB with default parameters")
        .to_string()
}

/// Checks `password` against a PHC string; false for any malformed hash.
pub fn verify_now(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash to verify against when the account does not exist, so the answer
/// takes as long as for a real account.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_now("no account has this password"));

/// A new password from the CSPRNG: 20 characters, no look-alikes.
pub fn generate() -> String {
    (0..GENERATED_LENGTH)
        .map(|_| GENERATED_ALPHABET[random_below(GENERATED_ALPHABET.len() as u8) as usize] as char)
        .collect()
}

/// The rule for passwords chosen by a person: 12–128 characters.
pub fn check_chosen(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHOSEN {
        Err(format!("must be at least {MIN_CHOSEN} characters"))
    } else if n > MAX_CHOSEN {
        Err(format!("must be at most {MAX_CHOSEN} characters"))
    } else {
        Ok(())
    }
}

/// Runs argon2 on its own threads, at most `limit` hashes at once, never on
/// the async workers or the blocking pool the database uses. The threads run
/// at the lowest CPU priority (nice 19 on Linux): while validations need the
/// cores, a login flood waits instead of stealing their time; on idle cores
/// logins get all of it.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads.
const HASHING_NICENESS: i32 = 19;

impl Hasher {
    pub fn new(limit: usize) -> Self {
        keep_hash_memory_out_of_the_heap();
        LazyLock::force(&DUMMY_HASH);
        let limit = limit.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..limit {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        // The lock is held only to take a job, not to run it.
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every Hasher is gone
                        }
                    }
                })
                .expect("a hashing thread starts");
        }
        Self { permits: Arc::new(Semaphore::new(limit)), jobs }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let _permit = self.permits.acquire().await.map_err(|e| ApiError::internal(format!("hasher closed: {e}")))?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| ApiError::internal("the hashing threads are gone"))?;
        result.await.map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.run(move || hash_now(&password)).await
    }

    /// Verifies against `hash`, or against a dummy hash when there is none
    /// (unknown account), always spending the same work.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        self.run(move || match hash {
            Some(hash) => verify_now(&password, &hash),
            None => {
                let _ = verify_now(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }
}

/// glibc: allocations from 1 MiB up are always mapped and unmapped, never
/// kept. Otherwise glibc raises its mapping threshold after the first freed
/// 19 MiB argon2 buffer and serves later ones from per-thread heaps that stay
/// resident: measured, 32 concurrent logins then left the server at 599 MB.
fn keep_hash_memory_out_of_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes plain integers; a fixed threshold is a documented setting.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Linux: the calling thread's nice value becomes [`HASHING_NICENESS`]
/// (`setpriority(PRIO_PROCESS, 0, …)` is per thread there). Best effort.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_at_the_lowest_priority_off_the_async_workers() {
        let hasher = Hasher::new(1);
        // SAFETY: getpriority reads a number.
        let (nice, name) = hasher
            .run(|| {
                (unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, std::thread::current().name().map(str::to_owned))
            })
            .await
            .unwrap();
        assert_eq!(nice, HASHING_NICENESS);
        assert_eq!(name.as_deref(), Some("argon2-0"));
        // SAFETY: as above; the caller's own priority is untouched.
        assert_ne!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, HASHING_NICENESS);
        assert!(hasher.verify("x".into(), Some(hash_now("x"))).await.unwrap());
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let hash = hash_now("correct horse battery staple");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("correct horse battery staple", &hash));
        assert!(!verify_now("correct horse battery stapler", &hash));
        assert!(!verify_now("anything", "not a phc string"));
    }

    #[test]
    fn generated_passwords_are_long_and_without_look_alikes() {
        let a = generate();
        assert_eq!(a.chars().count(), GENERATED_LENGTH);
        assert!(!a.contains(['0', 'O', 'o', '1', 'l', 'I', 'i']));
        assert_ne!(a, generate());
        assert!(check_chosen(&a).is_ok());
    }

    #[test]
    fn chosen_passwords_need_12_to_128_characters() {
        assert!(check_chosen("short").is_err());
        assert!(check_chosen(&"ü".repeat(12)).is_ok());
        assert!(check_chosen(&"x".repeat(129)).is_err());
    }
}
