from django.contrib import admin
from django.urls import include, path

from implementation import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("regions/<slug:slug>/", views.region_dashboard, name="region"),
    path("states/<str:iso3>/", views.state_profile, name="state"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
