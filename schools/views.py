from django.http import HttpRequest, HttpResponse

from schoolpartners.access import public_read


@public_read
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("School Partners")
