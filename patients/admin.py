from django.contrib import admin

from patients.models import Location, Provider

# Patients and their events are not in the admin site on purpose: patient data
# is read through the application's pages, which write the access log.


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "npi", "location")
    list_filter = ("location",)
    search_fields = ("code", "name", "npi")
