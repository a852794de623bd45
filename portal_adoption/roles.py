"""Staff roles (workflows.md, "Roles") and the permissions each one holds.

A role is a Django group. The groups are rebuilt from this table after every
migrate, so the code is the one place that says who may do what; later
features add their permissions here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    NURSE = "nurse", _("Nurse")
    PROVIDER = "provider", _("Provider")
    BILLING = "billing", _("Billing")
    MANAGER = "manager", _("Manager")
    ADMINISTRATOR = "administrator", _("Administrator")


# Group names are stored in English whatever the user's language.
GROUP_NAMES = {
    Role.FRONT_DESK: "Front desk",
    Role.NURSE: "Nurse",
    Role.PROVIDER: "Provider",
    Role.BILLING: "Billing",
    Role.MANAGER: "Manager",
    Role.ADMINISTRATOR: "Administrator",
}

VIEW_PATIENTS = "patients.view_patient"
VIEW_ACCESS_LOG = "portal_adoption.view_accesslogentry"
IMPORT_FEED = "patients.import_feed"
ENROLL_PATIENTS = "enrollment.enroll_patient"
MANAGE_ENROLLMENT = "enrollment.change_incentive"
# The playbook's scripts where the work happens (issue 12): the visit script
# for clinical staff, the phone scripts for whoever answers the phone.
USE_VISIT_SCRIPT = "enrollment.use_visit_script"
USE_PHONE_SCRIPTS = "enrollment.use_phone_scripts"
WORK_CLINICAL_QUEUE = "messaging.work_clinical_queue"
WORK_FRONT_DESK_QUEUE = "messaging.work_front_desk_queue"
WORK_BILLING_QUEUE = "messaging.work_billing_queue"
WORK_PROVIDER_TASKS = "messaging.work_provider_tasks"
MANAGE_MESSAGING = "messaging.manage_messaging"
VIEW_DASHBOARD = "metrics.view_dashboard"
EDIT_TARGETS = "metrics.change_target"
MANAGE_PROGRAM = "program.manage_program"
# The API's schema and its docs page: for those who build or run integrations.
READ_API_DOCS = "portal_adoption.read_api_docs"

MANAGER_PERMISSIONS = {
    VIEW_PATIENTS,
    VIEW_ACCESS_LOG,
    IMPORT_FEED,
    "patients.view_importrun",
    ENROLL_PATIENTS,
    "enrollment.view_incentive",
    "enrollment.add_incentive",
    MANAGE_ENROLLMENT,
    "enrollment.view_techhelpsession",
    "enrollment.add_techhelpsession",
    USE_VISIT_SCRIPT,
    USE_PHONE_SCRIPTS,
    WORK_CLINICAL_QUEUE,
    WORK_FRONT_DESK_QUEUE,
    WORK_BILLING_QUEUE,
    MANAGE_MESSAGING,
    VIEW_DASHBOARD,
    EDIT_TARGETS,
    "metrics.add_target",
    MANAGE_PROGRAM,
    READ_API_DOCS,
    "patients.view_activityevent",
    "patients.view_location",
    "patients.view_provider",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.FRONT_DESK: {VIEW_PATIENTS, ENROLL_PATIENTS, WORK_FRONT_DESK_QUEUE, USE_PHONE_SCRIPTS},
    Role.NURSE: {VIEW_PATIENTS, WORK_CLINICAL_QUEUE, USE_VISIT_SCRIPT, USE_PHONE_SCRIPTS},
    Role.PROVIDER: {VIEW_PATIENTS, WORK_PROVIDER_TASKS, USE_VISIT_SCRIPT},
    Role.BILLING: {WORK_BILLING_QUEUE},
    Role.MANAGER: MANAGER_PERMISSIONS,
    # "As manager", plus the staff accounts and the practice's settings in
    # Django's admin site (administrators are also is_staff).
    Role.ADMINISTRATOR: MANAGER_PERMISSIONS
    | {
        "portal_adoption.view_user",
        "portal_adoption.add_user",
        "portal_adoption.change_user",
        "auth.view_group",
        "portal_adoption.view_integrationtoken",
        "portal_adoption.add_integrationtoken",
        "portal_adoption.change_integrationtoken",
        "patients.add_location",
        "patients.change_location",
        "patients.add_provider",
        "patients.change_provider",
    },
}


# Groups for service accounts, not people: an integration token's account
# belongs to this group and may only feed data in.
INTEGRATION_GROUP = "Integration"
SERVICE_GROUP_PERMISSIONS: dict[str, set[str]] = {
    INTEGRATION_GROUP: {
        IMPORT_FEED,
        READ_API_DOCS,
        "messaging.add_message",
        "messaging.view_outboxitem",
    },
}
