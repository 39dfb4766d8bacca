"""Students, dorms and clubs with the link tables Lives_in and Member_of_club (as Spider's dorm_1 and club_1): a
database the tests of the wording and of the templates draw from."""

from core.db import connect
from core.pairgen import generate_pairs


def campus_pairs(tmp_path):
    """600 pairs generated from the campus database (seed 7)."""
    return generate_pairs(connect(str(campus_file(tmp_path))), n=600, seed=7)


def campus_file(tmp_path):
    """The campus database as a SQLite file in tmp_path."""
    import sqlite3

    path = tmp_path / "campus.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE Student (StuID INTEGER PRIMARY KEY, LName TEXT, Age INTEGER, Major TEXT);
        CREATE TABLE Dorm (dormid INTEGER PRIMARY KEY, dorm_name TEXT, student_capacity INTEGER);
        CREATE TABLE Club (ClubID INTEGER PRIMARY KEY, ClubName TEXT, ClubLocation TEXT);
        CREATE TABLE Lives_in (stuid INTEGER REFERENCES Student(StuID), dormid INTEGER REFERENCES Dorm(dormid),
                               room_number INTEGER);
        CREATE TABLE Member_of_club (StuID INTEGER REFERENCES Student(StuID), ClubID INTEGER REFERENCES Club(ClubID),
                                     Position TEXT);
        """
    )
    for i in range(30):
        con.execute("INSERT INTO Student VALUES (?, ?, ?, ?)", (i, f"Name{i % 7}", 18 + i % 6, "ab"[i % 2]))
        con.execute("INSERT INTO Lives_in VALUES (?, ?, ?)", (i, i % 4, 100 + i))
        con.execute("INSERT INTO Member_of_club VALUES (?, ?, ?)", (i, i % 3, ["President", "Member"][i % 2]))
    for i in range(4):
        con.execute("INSERT INTO Dorm VALUES (?, ?, ?)", (i, f"Hall {'ABCD'[i]}", 80 + 10 * i))
    for i in range(3):
        con.execute("INSERT INTO Club VALUES (?, ?, ?)", (i, f"Club {'XYZ'[i]}", ["AKW", "HHH", "AKW"][i]))
    con.commit()
    con.close()
    return path
