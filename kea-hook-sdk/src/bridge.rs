//! The cxx bridge to the C++ shim (`shim/`): the shim functions that read Kea's objects, each
//! returning a record of the model's fields (`crate::record`), so that no struct here repeats
//! a model. Private to the SDK: hooks use the safe types built on it.
//!
//! Every shim function that can meet a C++ exception returns `Result`, so an exception (a wrong
//! argument type, `std::bad_alloc`, …) arrives here as an `Err` instead of unwinding through Rust.

/// The bridge items (C++ namespace `kea_runscript`; Kea's handles in `isc::hooks`).
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub mod ffi {
    /// One entry of the staging configuration's `hooks-libraries`.
    #[derive(Debug, Clone, Default)]
    pub struct RawLibrary {
        /// The `library` path as configured.
        pub path: String,
        /// Its `parameters` as JSON text (`"{}"` when absent).
        pub parameters: String,
    }

    unsafe extern "C++" {
        include!("kea_runscript_shim.h");

        /// Kea's per-packet callout handle (opaque).
        #[namespace = "isc::hooks"]
        type CalloutHandle;
        /// Kea's per-library handle passed to `load` (opaque).
        #[namespace = "isc::hooks"]
        type LibraryHandle;

        /// `KEA_HOOKS_VERSION` of the headers the shim was compiled against.
        fn hooks_version() -> i32;
        /// The library's `parameters` map as JSON text (`"{}"` when absent).
        fn library_parameters(handle: Pin<&mut LibraryHandle>) -> Result<String>;
        /// Registers the callout at address `callout` (an `extern "C" fn(*mut CalloutHandle)
        /// -> c_int`) for hook point `hook` of this library. False, and nothing registered,
        /// when this Kea has no such hook point.
        fn register_callout(
            handle: Pin<&mut LibraryHandle>,
            hook: &str,
            callout: usize,
        ) -> Result<bool>;
        /// The `hooks-libraries` of the configuration Kea is parsing (empty outside parsing).
        fn staged_libraries() -> Result<Vec<RawLibrary>>;
        /// Errs, naming the allowed directory, when the Kea built against restricts where
        /// hook scripts may live (3.0 on) and `path` is not there; passes otherwise.
        fn check_script_path(path: &str) -> Result<()>;
        /// Creates the logger `logger_name` and registers the message ids with Kea's logging,
        /// each with the text `%1` (once; later calls do nothing). Kea takes them out of its
        /// dictionary again when it closes the library.
        fn register_messages(logger_name: &str, ids: Vec<String>) -> Result<()>;
        /// Whether `version()` already rejected the staged configuration (its mark is set).
        fn staged_config_rejected() -> Result<bool>;
        /// Marks the staged configuration as rejected by `version()`.
        fn mark_staged_config_rejected() -> Result<()>;
        /// Log `text` as `%1` of message `id` on the hook's logger;
        /// severity 0 debug, 1 info, 2 warn, 3 error. False, and nothing logged, when `id` is
        /// not in Kea's message dictionary.
        fn log_message(severity: u8, id: &str, text: &str) -> Result<bool>;
        /// Sets Kea statistic `name` (StatsMgr) to `value`.
        fn set_statistic(name: &str, value: i64) -> Result<()>;
        /// Kea's answer (JSON text) to the control command `command` (JSON text), handled
        /// in-process by Kea's command manager as if from the control channel.
        fn process_command(command: &str) -> Result<String>;

        /// Adds client classes to the `Pkt4Ptr` (`v6`: `Pkt6Ptr`) argument `name`; false when
        /// Kea did not set it or set a null packet.
        fn add_query_classes(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            v6: bool,
            classes: &[String],
        ) -> Result<bool>;
        /// Sets argument `name` to a `std::string`.
        fn set_string_argument(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            value: &str,
        ) -> Result<()>;
        /// Sets argument `name` to a `bool`.
        fn set_bool_argument(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            value: bool,
        ) -> Result<()>;
        /// Sets argument `type_name` to `Host::IDENT_FLEX` and `value_name` to `id` as a
        /// `std::vector<uint8_t>`.
        fn set_flex_id(
            handle: Pin<&mut CalloutHandle>,
            type_name: &str,
            value_name: &str,
            id: &[u8],
        ) -> Result<()>;

        /// The handle's next-step status (`CalloutNextStep` value).
        fn get_status(handle: &CalloutHandle) -> Result<i32>;
        /// Set the handle's next-step status (`CalloutNextStep` value).
        fn set_status(handle: Pin<&mut CalloutHandle>, next_step: i32) -> Result<()>;

        /// Argument of type `Pkt4Ptr`, as a record of its model.
        fn get_pkt4(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Pkt6Ptr`, as a record of its model.
        fn get_pkt6(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Lease4Ptr`, as a record of its model.
        fn get_lease4(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Lease6Ptr`, as a record of its model.
        fn get_lease6(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Lease4CollectionPtr`, as a record of its model.
        fn get_leases4(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Lease6CollectionPtr`, as a record of its model.
        fn get_leases6(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Subnet4Ptr`, as a record of its model.
        fn get_subnet4(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Subnet6Ptr`, as a record of its model.
        fn get_subnet6(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `HWAddrPtr`, as a record of its model.
        fn get_hwaddr(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `ClientIdPtr`, as a record of its model.
        fn get_client_id(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `IOAddress` (by value), as a record of an `Option<Ipv6Addr>`:
        /// its 16 bytes (an IPv4 address IPv4-mapped).
        fn get_address6(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Option6IAPtr`, as a record of its model.
        fn get_ia(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `bool`, as a record of its model.
        fn get_bool(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `uint32_t`, as a record of an `Option<u32>` (absent only when
        /// not set).
        fn get_uint32(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `std::vector<uint8_t>`, as a record of an `Option` of its bytes
        /// (absent only when not set).
        fn get_bytes(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `Host::IdentifierType`, as a record of an `Option` of its number
        /// (absent only when not set).
        fn get_host_id_type(handle: &CalloutHandle, name: &str)
            -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `std::string`, as a record of an `Option<Text>` (absent only
        /// when not set).
        fn get_string(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Argument of type `isc::data::ConstElementPtr`, as a record of an `Option` of its
        /// JSON text (Kea's `Element::str()`; absent for a null pointer).
        fn get_element(handle: &CalloutHandle, name: &str) -> Result<UniquePtr<CxxVector<u8>>>;
        /// The hardware address bytes of a `Pkt4Ptr` argument alone (empty: none).
        fn get_pkt4_hwaddr(handle: &CalloutHandle, name: &str) -> Result<Vec<u8>>;
        /// The DUID bytes of a `Pkt6Ptr` argument alone (empty: none).
        fn get_pkt6_duid(handle: &CalloutHandle, name: &str) -> Result<Vec<u8>>;
        /// The host reservation (record of `Option<Host4>`) of the client of `query4` in
        /// subnet `subnet_id`, from Kea's host manager.
        fn get_host4(handle: &CalloutHandle, subnet_id: u32) -> Result<UniquePtr<CxxVector<u8>>>;
        /// The host reservation (record of `Option<Host6>`) of the client of `query6` in
        /// subnet `subnet_id`, from Kea's host manager.
        fn get_host6(handle: &CalloutHandle, subnet_id: u32) -> Result<UniquePtr<CxxVector<u8>>>;
        /// Kea's `toText()` of a `Pkt6Ptr` argument (empty when absent).
        fn get_pkt6_text(handle: &CalloutHandle, name: &str) -> Result<String>;
        /// Kea's `toText()` of a `Lease4Ptr` argument (empty when absent).
        fn get_lease4_text(handle: &CalloutHandle, name: &str) -> Result<String>;
        /// Kea's `toText()` of a `Lease6Ptr` argument (empty when absent).
        fn get_lease6_text(handle: &CalloutHandle, name: &str) -> Result<String>;

        /// A query parked by this library (C++ `ParkedQuery`).
        type ParkedQuery;
        /// At `dhcp4_srv_configured`/`dhcp6_srv_configured`: keeps Kea's IO service
        /// (`io_context`) to unpark on; false when Kea passed none.
        fn capture_io_service(handle: &CalloutHandle) -> Result<bool>;
        /// At unload: forgets the IO service (later resolutions only drop).
        fn release_io_service() -> Result<()>;
        /// Parks `query4` (`v6`: `query6`) and sets `NEXT_STEP_PARK`; null when it cannot
        /// be parked (no IO service yet, Kea did not park it). `offer`: parked at
        /// `lease4_offer` (resuming sets `offer_address_in_use`).
        fn park_query(
            handle: Pin<&mut CalloutHandle>,
            v6: bool,
            offer: bool,
        ) -> Result<UniquePtr<ParkedQuery>>;
        /// Whether the offered address is in use, set on the query's callout handle when it
        /// is resumed. False when the query was not parked at `lease4_offer`.
        fn set_parked_offer_address_in_use(
            parked: Pin<&mut ParkedQuery>,
            in_use: bool,
        ) -> Result<bool>;
        /// Unparks (`drop == false`) or drops the query on Kea's IO service; any thread.
        fn resolve_parked(parked: UniquePtr<ParkedQuery>, drop: bool) -> Result<()>;
        /// Drops the query now, on the calling thread (Kea's main thread at unload).
        fn drop_parked_now(parked: UniquePtr<ParkedQuery>) -> Result<()>;
    }
}
