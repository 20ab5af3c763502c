"""URL configuration of the test server: the service under /sensorthings/v1.1/ as the package documents."""

from django.urls import include, path

urlpatterns = [path("sensorthings/", include("sensorthings.versions.v1_1.urls"))]
