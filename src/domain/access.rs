//! Roles of API keys and what each may do.

use serde::{Deserialize, Serialize};

/// The role of a practitioner's API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including keys and deletion.
    Owner,
    /// Configuration.
    Editor,
    /// Read only.
    Viewer,
}

/// What a request wants to do, for the role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read configuration.
    Read,
    /// Change configuration (ranges, symptoms, endpoints, settings).
    Configure,
    /// Manage keys, delete the account.
    Administer,
}

impl Role {
    /// Whether this role may perform `access`.
    pub fn allows(self, access: Access) -> bool {
        matches!(
            (self, access),
            (Role::Owner, _)
                | (Role::Editor, Access::Read | Access::Configure)
                | (Role::Viewer, Access::Read)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_contract_says() {
        use Access::*;
        assert!(Role::Owner.allows(Administer));
        assert!(Role::Editor.allows(Configure) && !Role::Editor.allows(Administer));
        assert!(Role::Viewer.allows(Read) && !Role::Viewer.allows(Configure));
    }
}
