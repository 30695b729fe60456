//! A lesson's worker-process roles as an enum: the job on the wire names its role by a string,
//! but lessons only ever match on the enum, so a misspelt role does not compile.

/// The roles of one lesson's worker processes, declared with [`roles!`].
pub trait Role: Copy + Send + Sync + 'static {
    /// Every role, so a job's string finds its role.
    const ALL: &'static [Self];

    /// The role's name in a worker job.
    fn wire(self) -> &'static str;

    /// The role a job names, if this lesson has it.
    fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|role| role.wire() == name)
    }
}

/// The role type of a lesson that starts no worker process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoProcesses {}

impl Role for NoProcesses {
    const ALL: &'static [Self] = &[];

    fn wire(self) -> &'static str {
        match self {}
    }
}

/// Declares a lesson's role enum and its wire names:
/// `roles! { pub enum Role { Producer = "producer", Consumer = "consumer" } }`.
macro_rules! roles {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $wire:expr),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::presets::role::Role for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn wire(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }
    };
}

pub(crate) use roles;
