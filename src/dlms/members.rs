//! The attributes and methods of the interface classes, named as the Blue Book names them, so
//! the object browser can say what `0.0.1.0.0.255:3` is (the clock's time_zone).

/// (attributes, methods) of a class: the names, attribute 1 and method 1 first.
struct Members {
    class_id: u16,
    attributes: &'static [&'static str],
    methods: &'static [&'static str],
}

const CLASSES: &[Members] = &[
    Members {
        class_id: 1,
        attributes: &["logical_name", "value"],
        methods: &[],
    },
    Members {
        class_id: 3,
        attributes: &["logical_name", "value", "scaler_unit"],
        methods: &["reset"],
    },
    Members {
        class_id: 4,
        attributes: &[
            "logical_name",
            "value",
            "scaler_unit",
            "status",
            "capture_time",
        ],
        methods: &["reset"],
    },
    Members {
        class_id: 5,
        attributes: &[
            "logical_name",
            "current_average_value",
            "last_average_value",
            "scaler_unit",
            "status",
            "capture_time",
            "start_time_current",
            "period",
            "number_of_periods",
        ],
        methods: &["reset", "next_period"],
    },
    Members {
        class_id: 7,
        attributes: &[
            "logical_name",
            "buffer",
            "capture_objects",
            "capture_period",
            "sort_method",
            "sort_object",
            "entries_in_use",
            "profile_entries",
        ],
        // Methods 3 and 4 are version 0's get_buffer_by_range / _by_index.
        methods: &[
            "reset",
            "capture",
            "get_buffer_by_range",
            "get_buffer_by_index",
        ],
    },
    Members {
        class_id: 8,
        attributes: &[
            "logical_name",
            "time",
            "time_zone",
            "status",
            "daylight_savings_begin",
            "daylight_savings_end",
            "daylight_savings_deviation",
            "daylight_savings_enabled",
            "clock_base",
        ],
        methods: &[
            "adjust_to_quarter",
            "adjust_to_measuring_period",
            "adjust_to_minute",
            "adjust_to_preset_time",
            "preset_adjusting_time",
            "shift_time",
        ],
    },
    Members {
        class_id: 12,
        attributes: &[
            "logical_name",
            "object_list",
            "access_rights_list",
            "security_setup_reference",
        ],
        methods: &[
            "reset",
            "change_secret",
            "read_by_logicalname",
            "get_attributes_and_services",
            "change_LLS_secret",
            "change_HLS_secret",
            "method 7",
            "reply_to_HLS_authentication",
        ],
    },
    Members {
        class_id: 15,
        attributes: &[
            "logical_name",
            "object_list",
            "associated_partners_id",
            "application_context_name",
            "xDLMS_context_info",
            "authentication_mechanism_name",
            "secret",
            "association_status",
            "security_setup_reference",
        ],
        methods: &[
            "reply_to_HLS_authentication",
            "change_HLS_secret",
            "add_object",
            "remove_object",
            "add_user",
            "remove_user",
        ],
    },
    Members {
        class_id: 23,
        attributes: &[
            "logical_name",
            "comm_speed",
            "window_size_transmit",
            "window_size_receive",
            "max_info_field_length_transmit",
            "max_info_field_length_receive",
            "inter_octet_time_out",
            "inactivity_time_out",
            "device_address",
        ],
        methods: &[],
    },
    Members {
        class_id: 70,
        attributes: &[
            "logical_name",
            "output_state",
            "control_state",
            "control_mode",
        ],
        methods: &["remote_disconnect", "remote_reconnect"],
    },
];

fn members(class_id: u16) -> Option<&'static Members> {
    CLASSES.iter().find(|m| m.class_id == class_id)
}

/// (attributes, methods) of an interface class, as the Blue Book defines them (the versions
/// meters commonly serve); unknown classes count 2 attributes and no methods.
pub fn class_shape(class_id: u16) -> (u8, u8) {
    members(class_id).map_or((2, 0), |m| {
        (m.attributes.len() as u8, m.methods.len() as u8)
    })
}

/// The name of attribute `id` of class `class_id`, when the class is known.
pub fn attribute_name(class_id: u16, id: i8) -> Option<&'static str> {
    let i = usize::try_from(id).ok()?.checked_sub(1)?;
    members(class_id)?.attributes.get(i).copied()
}

/// The name of method `id` of class `class_id`, when the class is known.
pub fn method_name(class_id: u16, id: i8) -> Option<&'static str> {
    let i = usize::try_from(id).ok()?.checked_sub(1)?;
    members(class_id)?.methods.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_blue_book() {
        assert_eq!(attribute_name(8, 3), Some("time_zone"));
        assert_eq!(attribute_name(70, 2), Some("output_state"));
        assert_eq!(method_name(70, 1), Some("remote_disconnect"));
        assert_eq!(method_name(7, 2), Some("capture"));
        assert_eq!(attribute_name(3, 0), None);
        assert_eq!(attribute_name(3, -1), None);
        assert_eq!(attribute_name(999, 1), None);
        assert_eq!(class_shape(5), (9, 2));
        assert_eq!(class_shape(1234), (2, 0));
    }
}
