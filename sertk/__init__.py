"""sertk: speech emotion recognition with classical acoustic features."""
