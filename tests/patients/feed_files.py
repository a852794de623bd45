"""Small feed files as a practice would send them."""

PATIENTS_HEADER = (
    "external_id,given_name,family_name,birth_date,email,mobile_phone,preferred_language,"
    "location,primary_provider,registered_on,deactivated_on"
)
EVENTS_HEADER = (
    "event_id,patient_external_id,type,occurred_at,channel,object_id,reply_to,amount,score"
)

ROSTER = "\n".join(
    [
        PATIENTS_HEADER,
        "MRN-1,Rosa,Delgado,1958-04-02,rosa@example.org,(202) 555-0143,es,NORTH,DRLEE,2019-03-01,",
        "MRN-2,Tom,Baker,1990-11-30,,,en,NORTH,,2021-07-15,",
        "MRN-3,Ann,Wu,1975-01-09,ann@example.com,+1 415 555 0100,,,DRLEE,2020-01-01,2026-01-31",
    ]
)

EVENTS = "\n".join(
    [
        EVENTS_HEADER,
        "e1,MRN-1,portal_invited,2026-01-05T09:00:00-05:00,front_desk,,,,",
        "e2,MRN-1,portal_activated,2026-01-05T09:10:00-05:00,front_desk,,,,",
        "e3,MRN-1,login,2026-01-06T20:15:00Z,app,,,,",
        "e4,MRN-1,message_from_patient,2026-01-06T20:20:00Z,app,m-100,,,",
        "e5,MRN-1,message_to_patient,2026-01-07T09:00:00-05:00,portal,m-101,m-100,,",
        "e6,MRN-2,payment,2026-01-08T10:00:00-05:00,portal,pay-9,,45.50,",
        "e7,MRN-2,survey_response,2026-01-09T10:00:00-05:00,portal,survey-1,,,5",
    ]
)


def as_bytes(text: str) -> bytes:
    return (text + "\n").encode()
