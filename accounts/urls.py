from django.contrib.auth import views as auth_views
from django.urls import path

from schoolpartners.access import public_read

app_name = "accounts"

urlpatterns = [
    path("login/", public_read(auth_views.LoginView.as_view()), name="login"),
    path("logout/", public_read(auth_views.LogoutView.as_view()), name="logout"),
]
