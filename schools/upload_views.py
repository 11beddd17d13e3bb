"""`/imports/upload/` (staff): upload one national data file (a DfE/Ofsted CSV, or the bundle's .csv.xz) to be
imported as a background job; the page redirects to the job's page. Files over SUPPORT_IMPORT_MAX_BYTES are
refused (413) before anything is queued."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from schoolpartners.access import staff_only
from schoolpartners.uploads import megabytes
from schools.tasks import start_import

SUFFIXES = (".csv", ".csv.xz", ".csv.gz", ".json", ".json.xz", ".json.gz", ".xlsx")


class NationalFileForm(forms.Form):
    file = forms.FileField(label="Data file")

    def clean_file(self) -> object:
        f = self.cleaned_data["file"]
        if not str(f.name).lower().endswith(SUFFIXES):
            raise forms.ValidationError(
                "Choose a CSV file (.csv, .csv.xz, .csv.gz), a JSON file (.json, .json.xz, .json.gz) or an Excel "
                "file (.xlsx)"
            )
        return f


@staff_only
def upload(request: HttpRequest) -> HttpResponse:
    form = NationalFileForm(request.POST or None, request.FILES or None)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            f = form.cleaned_data["file"]
            if f.size > settings.SUPPORT_IMPORT_MAX_BYTES:
                error = (
                    f"{Path(f.name).name} is {megabytes(f.size)}; the largest file accepted is "
                    f"{megabytes(settings.SUPPORT_IMPORT_MAX_BYTES)}. Nothing was queued."
                )
                status = 413
            else:
                job = start_import(b"".join(f.chunks()), f.name, request.user)
                return redirect("jobs:job", job_id=job.pk)
        else:
            status = 400
    return render(request, "schools/import_upload.html", {"form": form, "error": error}, status=status)
